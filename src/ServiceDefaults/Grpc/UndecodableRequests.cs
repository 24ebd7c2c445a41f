using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Millisampler.ServiceDefaults.Grpc;

/// <summary>
/// Turns a request that cannot be decoded into INVALID_ARGUMENT naming the message type and what was wrong, and logs
/// it in one short line without a stack trace, at most once per <see cref="LogInterval"/>; the line says how many more
/// were answered since the last one. A client's mistake (or an attacker's garbage) costs neither a stack trace nor
/// unbounded log.
/// </summary>
public sealed partial class UndecodableRequests(ILogger<UndecodableRequests> logger, TimeProvider time)
{
    /// <summary>Shortest time between two log lines.</summary>
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private long _lastLogTicks = long.MinValue;
    private long _suppressed;
    private long _total;

    /// <summary>Requests answered INVALID_ARGUMENT because they could not be decoded, since start.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>A marshaller that decodes with <paramref name="inner"/> and turns any decode failure into INVALID_ARGUMENT.</summary>
    public Marshaller<T> Guard<T>(Marshaller<T> inner, string method)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Func<DeserializationContext, T> decode = inner.ContextualDeserializer;
        string type = typeof(T).Name;
        return new Marshaller<T>(inner.ContextualSerializer, context =>
        {
            try
            {
                return decode(context);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not RpcException)
            {
                string reason = FirstLine(ex.Message);
                Record(method, type, reason);
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"request is not a valid {type}: {reason}"));
            }
        });
    }

    private void Record(string method, string type, string reason)
    {
        Interlocked.Increment(ref _total);
        long now = time.GetTimestamp();
        long suppressed;
        lock (_gate)
        {
            if (_lastLogTicks != long.MinValue && time.GetElapsedTime(_lastLogTicks, now) < LogInterval)
            {
                _suppressed++;
                return;
            }

            _lastLogTicks = now;
            suppressed = _suppressed;
            _suppressed = 0;
        }

        LogUndecodable(logger, method, type, reason, suppressed);
    }

    private static string FirstLine(string message)
    {
        int end = message.IndexOfAny(['\r', '\n']);
        string line = end < 0 ? message : message[..end];
        return line.Length <= 200 ? line : line[..200];
    }
}
