using System.Text;
using Millisampler.Coordinator.Alerts;

namespace Millisampler.Coordinator.Tests.Alerts;

/// <summary>
/// Mutated deliveries (seeded, so a failure repeats): parsing and label mapping either succeed or throw
/// <see cref="AlertPayloadException"/> naming a field — never another exception, which the webhook would answer 500.
/// </summary>
public sealed class AlertmanagerPayloadFuzzTests
{
    private static readonly byte[] Interesting = Encoding.UTF8.GetBytes("{}[]\",:0-9.eE\\u0000 nulltruefalse\"firing\"\"resolved\"\"4\"");

    [Theory]
    [InlineData(11)]
    [InlineData(1100)]
    public void MutatedDocumentedPayload_OnlyFieldErrors(int seed)
    {
        var random = new Random(seed);
        byte[] seedBytes = Encoding.UTF8.GetBytes(AlertmanagerPayloadTests.Documented);
        var options = new AlertOptions { HostFromInstance = true };
        int parsed = 0;
        int refused = 0;
        for (int i = 0; i < 5_000; i++)
        {
            byte[] input = Mutate(seedBytes, random);
            try
            {
                AlertmanagerPayload p = AlertmanagerPayload.Parse(input, maxAlerts: 100);
                foreach (AlertmanagerAlert a in p.Alerts.Where(a => a.IsFiring))
                {
                    _ = AlertCapturePlanner.Locate(a, options, h => h == "h01" ? "r1" : null, ["r1"]);
                    _ = AlertCapturePlanner.Values(a);
                }

                parsed++;
            }
            catch (AlertPayloadException ex)
            {
                Assert.Matches(@"^(body|version|status|alerts|truncatedAlerts|receiver|groupKey|externalURL|groupLabels|commonLabels|commonAnnotations)[\w\[\].]*: ", ex.Message);
                refused++;
            }
        }

        // Both paths were exercised, or the mutations prove nothing.
        Assert.True(parsed > 100, $"only {parsed} mutated payloads parsed");
        Assert.True(refused > 1_000, $"only {refused} mutated payloads refused");
    }

    private static byte[] Mutate(byte[] source, Random random)
    {
        var bytes = new List<byte>(source);
        int edits = random.Next(1, 4);
        for (int e = 0; e < edits && bytes.Count > 0; e++)
        {
            int at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0:
                    bytes[at] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 1:
                    bytes.RemoveRange(at, Math.Min(random.Next(1, 16), bytes.Count - at));
                    break;
                case 2:
                    int from = random.Next(source.Length);
                    bytes.InsertRange(at, source.AsSpan(from, Math.Min(random.Next(1, 33), source.Length - from)).ToArray());
                    break;
                default:
                    bytes[at] = (byte)random.Next(256);
                    break;
            }
        }

        return [.. bytes];
    }
}
