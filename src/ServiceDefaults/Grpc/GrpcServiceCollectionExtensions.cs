using Grpc.AspNetCore.Server.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Millisampler.ServiceDefaults.Grpc;

/// <summary>gRPC server registration shared by the agent and the coordinator.</summary>
public static class GrpcServiceCollectionExtensions
{
    /// <summary>
    /// <c>AddGrpc()</c>, with every service bound by <see cref="DecodeGuardServiceMethodProvider{TService}"/> instead of the
    /// framework's binder: undecodable requests get INVALID_ARGUMENT and one rate-limited log line
    /// (<see cref="UndecodableRequests"/>). Call it after every other <c>AddGrpc()</c>: that one would add the framework's
    /// binder back, and a method bound twice is ambiguous.
    /// </summary>
    public static IServiceCollection AddGuardedGrpc(this IServiceCollection services)
    {
        services.AddGrpc();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<UndecodableRequests>();
        for (int i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(IServiceMethodProvider<>)
                && services[i].ImplementationType is { Name: "BinderServiceMethodProvider`1" })
            {
                services.RemoveAt(i);
            }
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton(typeof(IServiceMethodProvider<>), typeof(DecodeGuardServiceMethodProvider<>)));
        return services;
    }
}
