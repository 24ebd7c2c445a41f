using Millisampler.Agent.Bpf;
using Millisampler.Agent.Bpf.Native;

namespace Millisampler.Agent.Tests.Kernel;

[Collection(KernelCollection.Name)]
public sealed class LoaderTests
{
    [Fact]
    public unsafe void EmbeddedObject_MapValueSizes_MatchSharedTypes()
    {
        using var obj = BpfObject.Open(SamplerObject.ReadEmbeddedObject(), "sampler");
        obj.Load();
        Assert.Equal((uint)sizeof(MsConfig), LibBpf.MapValueSize(obj.Map("ms_config")));
        Assert.Equal((uint)sizeof(MsBin), LibBpf.MapValueSize(obj.Map("ms_bins")));
        Assert.Equal((uint)sizeof(MsSketch), LibBpf.MapValueSize(obj.Map("ms_sketch")));
        Assert.Equal((uint)sizeof(MsFlow), LibBpf.MapValueSize(obj.Map("ms_flows")));
        Assert.Equal((uint)sizeof(MsFlowKey), LibBpf.MapKeySize(obj.Map("ms_flows")));
        Assert.Equal((uint)sizeof(MsFlow), LibBpf.MapValueSize(obj.Map("ms_flows4")));
        Assert.Equal((uint)sizeof(MsFlowKey4), LibBpf.MapKeySize(obj.Map("ms_flows4")));
        Assert.Equal((uint)sizeof(MsStats), LibBpf.MapValueSize(obj.Map("ms_stats")));
        Assert.Equal((uint)sizeof(MsPrefixKey), LibBpf.MapKeySize(obj.Map("ms_prefixes")));
        Assert.Equal((uint)sizeof(MsRingBin), LibBpf.MapValueSize(obj.Map("ms_ring_bins")));
        Assert.Equal((uint)sizeof(MsRingSketch), LibBpf.MapValueSize(obj.Map("ms_ring_sketch")));
    }

    [Fact]
    public void RejectedProgram_VerifierLogReachesTheError()
    {
        var ex = Assert.Throws<BpfException>(() => Repo.LoadTestObject("rejected"));
        Assert.Contains("verifier rejected", ex.Message, StringComparison.Ordinal);
        Assert.Contains("invalid access to packet", ex.KernelLog, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingInterface_OneClearSentence()
    {
        var ex = Assert.Throws<BpfException>(() => KernelSampler.Open(new KernelSamplerOptions { Interfaces = ["ms-nosuchif0"] }, new Clock.HostClock()));
        Assert.Equal("Interface 'ms-nosuchif0' does not exist in this network namespace.", ex.Message);
    }

    [Fact]
    public void SampleLoad_KernelMemoryFor2000Bins_Under32MiBAt128Cpus()
    {
        // The formula in docs/sampler.md, evaluated with the sizes of the object as built.
        using var s = SamplerObject.Load(new SamplerLoadOptions());
        long perCpuBins = s.MaxBins * (long)System.Runtime.CompilerServices.Unsafe.SizeOf<MsBin>() * 128;
        long sketches = s.MaxBins * (long)System.Runtime.CompilerServices.Unsafe.SizeOf<MsSketch>();
        long flows = s.MaxFlows * (40L + 16L + (2 * (System.Runtime.CompilerServices.Unsafe.SizeOf<MsFlow>() + 64 /* htab element overhead, upper bound */)));
        Assert.True(perCpuBins + sketches + flows < 32L * 1024 * 1024, $"{perCpuBins + sketches + flows} bytes");
    }
}
