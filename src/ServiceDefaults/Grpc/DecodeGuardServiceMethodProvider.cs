using System.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;

namespace Millisampler.ServiceDefaults.Grpc;

/// <summary>
/// Binds a generated gRPC service the way Grpc.AspNetCore's own binder does (the generated <c>BindService</c>, the
/// service's overrides, its attributes as endpoint metadata, so authorization policies stay), with one difference:
/// every request marshaller is wrapped by <see cref="UndecodableRequests"/>, so a request that cannot be decoded is
/// answered INVALID_ARGUMENT instead of UNKNOWN. The framework reads and decodes a request before any interceptor
/// runs, and logs a decode failure it does not recognise with the whole stack trace at Error; an
/// <see cref="RpcException"/> thrown by the marshaller is answered with its status and logged by the framework only at
/// Information (below the default Warning for <c>Grpc</c>).
/// </summary>
internal sealed class DecodeGuardServiceMethodProvider<TService>(UndecodableRequests undecodable) : IServiceMethodProvider<TService>
    where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        if (FindBindMethod(typeof(TService)) is not { } bind)
        {
            return;
        }

        Type declaringType = bind.GetParameters()[1].ParameterType;
        try
        {
            bind.Invoke(null, [new Binder(context, declaringType, undecodable), null]);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw new InvalidOperationException($"Error binding gRPC service '{typeof(TService).Name}'.", ex.InnerException);
        }
    }

    /// <summary>The static <c>BindService(ServiceBinderBase, TBase)</c> named by <see cref="BindServiceMethodAttribute"/> on the service or a base class.</summary>
    private static MethodInfo? FindBindMethod(Type service)
    {
        for (Type? t = service; t is not null; t = t.BaseType)
        {
            if (t.GetCustomAttribute<BindServiceMethodAttribute>(inherit: false) is { } attribute)
            {
                return attribute.BindType.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                    .FirstOrDefault(m => m.Name == attribute.BindMethodName && m.GetParameters() is [{ } first, _]
                        && first.ParameterType == typeof(ServiceBinderBase));
            }
        }

        return null;
    }

    private sealed class Binder(ServiceMethodProviderContext<TService> context, Type declaringType, UndecodableRequests undecodable)
        : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            context.AddUnaryMethod(Guard(method), Metadata(method.Name, [typeof(TRequest), typeof(ServerCallContext)], out MethodInfo m),
                Invoker<UnaryServerMethod<TService, TRequest, TResponse>>(m));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddServerStreamingMethod(Guard(method),
                Metadata(method.Name, [typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext)], out MethodInfo m),
                Invoker<ServerStreamingServerMethod<TService, TRequest, TResponse>>(m));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddClientStreamingMethod(Guard(method),
                Metadata(method.Name, [typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext)], out MethodInfo m),
                Invoker<ClientStreamingServerMethod<TService, TRequest, TResponse>>(m));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddDuplexStreamingMethod(Guard(method),
                Metadata(method.Name, [typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext)], out MethodInfo m),
                Invoker<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(m));

        private Method<TRequest, TResponse> Guard<TRequest, TResponse>(Method<TRequest, TResponse> method)
            where TRequest : class where TResponse : class =>
            new(method.Type, method.ServiceName, method.Name, undecodable.Guard(method.RequestMarshaller, method.FullName), method.ResponseMarshaller);

        private static TDelegate Invoker<TDelegate>(MethodInfo handler) where TDelegate : Delegate =>
            (TDelegate)Delegate.CreateDelegate(typeof(TDelegate), handler);

        /// <summary>Finds the service's override of <paramref name="name"/>; metadata: the class's attributes, then the method's, then POST only.</summary>
        private List<object> Metadata(string name, Type[] parameters, out MethodInfo handler)
        {
            handler = FindOverride(name, parameters)
                ?? throw new InvalidOperationException($"Could not find '{name}' on {typeof(TService)}.");
            var metadata = new List<object>();
            metadata.AddRange(typeof(TService).GetCustomAttributes(inherit: true));
            metadata.AddRange(handler.GetCustomAttributes(inherit: true));
            // As the framework's binder: CORS preflight is accepted so an unconfigured CORS answers 405 from gRPC.
            metadata.Add(new HttpMethodMetadata(["POST"], acceptCorsPreflight: true));
            return metadata;
        }

        private MethodInfo? FindOverride(string name, Type[] parameters)
        {
            for (Type? t = typeof(TService); t is not null; t = t.BaseType)
            {
                MethodInfo? m = t.GetMethod(name, BindingFlags.Public | BindingFlags.Instance, binder: null, types: parameters, modifiers: null);
                if (m is null)
                {
                    return null;
                }

                // A method hiding the generated virtual one (new, not override) is skipped, as the framework does.
                if (m.IsVirtual && m.GetBaseDefinition().DeclaringType == declaringType)
                {
                    return m;
                }
            }

            return null;
        }
    }
}
