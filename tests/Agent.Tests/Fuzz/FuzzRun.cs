using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace Millisampler.Tests.Fuzz;

/// <summary>
/// Sends seeded mutations of valid requests to every method of a service and collects the answers the issue forbids:
/// UNKNOWN and INTERNAL (a handler or the framework failed on the input instead of judging it).
/// </summary>
internal static class FuzzRun
{
    /// <summary>Mutated messages per service (the issue asks for at least 10,000).</summary>
    public const int MessagesPerService = 10_000;

    /// <summary>
    /// Spreads <see cref="MessagesPerService"/> mutations evenly over the methods of <paramref name="service"/>, each
    /// mutated from one of that method's <paramref name="seeds"/>; every 10th message is the seed itself unmutated, so
    /// valid requests run among the broken ones. Returns each forbidden answer, described.
    /// </summary>
    public static async Task<IReadOnlyList<string>> RunAsync(CallInvoker invoker, ServiceDescriptor service,
        IReadOnlyDictionary<string, IMessage[]> seeds, int seed, int parallel = 4)
    {
        foreach (MethodDescriptor m in service.Methods)
        {
            Assert.True(seeds.ContainsKey(m.Name), $"no seed requests for {service.Name}.{m.Name}");
        }

        var jobs = new List<(MethodDescriptor Method, byte[] Payload)>(MessagesPerService);
        var mutator = new MessageMutator(seed);
        for (int i = 0; i < MessagesPerService; i++)
        {
            MethodDescriptor method = service.Methods[i % service.Methods.Count];
            IMessage[] valid = seeds[method.Name];
            byte[] bytes = valid[(i / service.Methods.Count) % valid.Length].ToByteArray();
            jobs.Add((method, i % 10 == 0 ? bytes : mutator.Mutate(bytes)));
        }

        var forbidden = new List<string>();
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
        {
            for (int i = Interlocked.Increment(ref next); i < jobs.Count; i = Interlocked.Increment(ref next))
            {
                (MethodDescriptor method, byte[] payload) = jobs[i];
                (StatusCode code, string detail) = await RawGrpc.CallAsync(invoker, method, payload);
                if (code is StatusCode.Unknown or StatusCode.Internal)
                {
                    lock (forbidden)
                    {
                        forbidden.Add($"#{i} {method.Name} → {code} '{detail}' for {Convert.ToHexString(payload)}");
                    }
                }
            }
        }));
        return forbidden;
    }

    /// <summary>Log entries that carry an exception or a stack trace.</summary>
    public static IEnumerable<string> StackTraces(IEnumerable<(string Category, string Message, Exception? Exception)> entries) =>
        entries.Where(e => e.Exception is not null || e.Message.Contains("\n   at ", StringComparison.Ordinal))
            .Select(e => new StringBuilder(e.Category).Append(": ").Append(e.Message).Append(' ').Append(e.Exception?.GetType().Name).ToString());
}
