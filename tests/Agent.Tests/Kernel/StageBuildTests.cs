using System.Net;
using static Millisampler.Agent.Tests.Kernel.TestFrames;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>
/// The stage builds the benchmarks compare against (bpf/out/stages/stageN.bpf.o, MS_STAGES in millisampler.bpf.c):
/// each loads, and each stops exactly where it says, so a benchmark's "what a stage costs" is the cost of that stage.
/// One CE-marked IPv4 TCP data segment is run twice through ingress: a repeat of its payload is a retransmission.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class StageBuildTests
{
    private static readonly IPAddress Client = IPAddress.Parse("198.18.0.1");
    private static readonly IPAddress Server = IPAddress.Parse("198.18.0.2");

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void StageBuild_CountsWhatItsStagesCountAndNothingAfter(int stage)
    {
        // Stage 4 is the product: the embedded object.
        byte[]? image = stage == 4 ? null : File.ReadAllBytes(Path.Combine(Repo.Root, "bpf", "out", "stages", $"stage{stage}.bpf.o"));
        using var sampler = TestRunSampler.Armed(image);
        var frame = Ipv4(Client, Server, Tcp, TcpSegment(40000, 5201, seq: 1000, payload: 600), tos: 3);
        sampler.Ingress(frame);
        sampler.Ingress(frame);

        var bin = sampler.Bin();
        var flows = sampler.Flows();

        // Stage 1 on: bytes and packets.
        Assert.Equal(2UL, bin.InPackets);
        Assert.Equal(2UL * (ulong)frame.Length, bin.InBytes);

        // Stage 2 on: the parse, and with it the CE mark.
        Assert.Equal(stage >= 2 ? 2UL * (ulong)frame.Length : 0UL, bin.InCeBytes);

        // Stage 3 on: the flow table.
        if (stage >= 3)
        {
            Assert.Single(flows, f => f.Joins(Client, Server) && f.Protocol == Tcp);
        }
        else
        {
            Assert.Empty(flows);
        }

        // Stage 4, the whole program: sequence tracking (the repeat is retransmitted) and the sketch.
        Assert.Equal(stage == 4 ? 600UL : 0UL, bin.InRetransmitBytes);
        Assert.Equal(stage == 4 ? 1 : 0, sampler.SketchBits());
    }
}
