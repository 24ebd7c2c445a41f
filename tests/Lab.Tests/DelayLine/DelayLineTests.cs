using System.Net;
using Xunit.Abstractions;

namespace Millisampler.Lab.Tests.DelayLine;

[Collection(LabCollection.Name)]
public sealed class DelayLineTests(ITestOutputHelper output)
{
    [Fact]
    public async Task RemoteSender_GetsTwiceTheDelayAddedToRtt_LocalSenderDoesNot()
    {
        var delay = TimeSpan.FromMilliseconds(20);
        await using var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix).WithHosts(1).WithSenders(2).BuildAsync();
        var host = rack.Hosts[0];
        var (remote, local) = (rack.Senders[0], rack.Senders[1]);
        var line = await rack.AddDelayLineAsync(delay, [remote]);
        await using var sink = TcpSink.Start(host.Namespace, new IPEndPoint(host.Address, 5001));

        var far = await TcpBulkSender.RunAsync(new TcpBulkOptions { Namespace = remote.Namespace, Target = sink.LocalEndPoint, TotalBytes = 2_000_000 });
        var near = await TcpBulkSender.RunAsync(new TcpBulkOptions { Namespace = local.Namespace, Target = sink.LocalEndPoint, TotalBytes = 2_000_000 });
        output.WriteLine($"remote rtt {far.Totals.MeanRttUs / 1000:0.0} ms (min_rtt {far.PerConnection[0].MinRttUs / 1000.0:0.0} ms), local rtt {near.Totals.MeanRttUs / 1000:0.00} ms, delayed {line.PacketsDelayed} pkts, max queue {line.MaxQueueDepth}, dropped {line.PacketsDropped}");

        Assert.Equal(4_000_000, sink.BytesReceived);
        Assert.True(far.PerConnection[0].MinRttUs >= 2 * delay.TotalMicroseconds, $"min_rtt {far.PerConnection[0].MinRttUs} µs");
        Assert.True(far.Totals.MeanRttUs >= 2 * delay.TotalMicroseconds);
        // The local path only queues in the ToR port's 256 KiB buffer (2 ms at 1 Gbit/s).
        Assert.True(near.PerConnection[0].MinRttUs < 2_000, $"local min_rtt {near.PerConnection[0].MinRttUs} µs");
        Assert.True(near.Totals.MeanRttUs < 10_000, $"local rtt {near.Totals.MeanRttUs} µs");
        Assert.True(line.PacketsDelayed > 0);
        Assert.Equal(0, line.PacketsDropped);
    }
}
