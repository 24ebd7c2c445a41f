using Google.Protobuf.Reflection;
using Grpc.Core;

namespace Millisampler.Tests.Fuzz;

/// <summary>
/// Calls a gRPC method with raw bytes as the request: a valid gRPC frame (length-prefixed, uncompressed) over HTTP/2
/// whose payload is whatever the test wrote, as an attacker with the .proto files would send it.
/// </summary>
internal static class RawGrpc
{
    private static readonly Marshaller<byte[]> Bytes = new(b => b, b => b);

    /// <summary>The status the server answered <paramref name="payload"/> with (OK when the call succeeded), and its detail.</summary>
    public static async Task<(StatusCode Code, string Detail)> CallAsync(CallInvoker invoker, MethodDescriptor method, byte[] payload)
    {
        // A bound on a call that may wait by design (GetRun of a run still armed, a stream following a capture):
        // DEADLINE_EXCEEDED is an answer like any other; not a timing assertion.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: cts.Token);
        try
        {
            if (method.IsServerStreaming)
            {
                using AsyncServerStreamingCall<byte[]> call = invoker.AsyncServerStreamingCall(
                    new Method<byte[], byte[]>(MethodType.ServerStreaming, method.Service.FullName, method.Name, Bytes, Bytes), null, options, payload);
                // The first message (or the error) is the server's answer to the request; the rest of the stream is not.
                await call.ResponseStream.MoveNext(cts.Token);
                return (StatusCode.OK, "");
            }

            using AsyncUnaryCall<byte[]> unary = invoker.AsyncUnaryCall(
                new Method<byte[], byte[]>(MethodType.Unary, method.Service.FullName, method.Name, Bytes, Bytes), null, options, payload);
            await unary.ResponseAsync;
            return (StatusCode.OK, "");
        }
        catch (RpcException e)
        {
            return (e.StatusCode, e.Status.Detail);
        }
    }
}
