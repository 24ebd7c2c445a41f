using System.Net;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Bpf.Native;
using Millisampler.Agent.Clock;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>
/// The real sampler object, loaded but attached nowhere, armed with one wide bin: frames go through
/// its ingress or egress program with BPF_PROG_TEST_RUN, and the test reads what the maps hold.
/// </summary>
internal sealed unsafe class TestRunSampler : IDisposable
{
    private readonly SamplerObject _object;

    private TestRunSampler(SamplerObject obj) => _object = obj;

    /// <summary>
    /// Loads the embedded object (or another build's image, such as a stage build of bpf/out/stages/) and arms bin 0
    /// (10 s wide, started 1 ms ago).
    /// </summary>
    public static TestRunSampler Armed(byte[]? objectImage = null)
    {
        var obj = SamplerObject.Load(new SamplerLoadOptions { MaxBins = 4, ObjectImage = objectImage });
        try
        {
            var clock = new HostClock();
            long now = clock.NowTaiNs();
            long start = (obj.Clock == ClockSource.Tai ? now : now - clock.TaiMinusMonotonicNs()) - 1_000_000;
            var cfg = new MsConfig { StartNs = (ulong)start, BinWidthNs = 10_000_000_000, Bins = 4, Armed = 1, RttThresholdUs = 10_000 };
            uint key = 0;
            Check(LibBpf.MapUpdateElem(obj.ConfigFd, &key, &cfg, LibBpf.UpdateAny), "arming");
            return new TestRunSampler(obj);
        }
        catch
        {
            obj.Dispose();
            throw;
        }
    }

    /// <summary>Adds one region override, as the agent writes it.</summary>
    public void AddPrefix(string text)
    {
        var key = KernelSampler.ToKey(RegionPrefix.Parse(text));
        var value = new MsPrefixValue { Region = text.EndsWith("=remote", StringComparison.Ordinal) ? MsRegion.Remote : MsRegion.Local };
        Check(LibBpf.MapUpdateElem(_object.PrefixesFd, &key, &value, LibBpf.UpdateAny), "adding a prefix");
    }

    public void Ingress(byte[] frame) => Run(_object.IngressProgramFd, frame);

    public void Egress(byte[] frame) => Run(_object.EgressProgramFd, frame);

    private static void Run(int progFd, byte[] frame)
    {
        fixed (byte* data = frame)
        {
            var opts = new LibBpf.TestRunOpts { Size = (nuint)sizeof(LibBpf.TestRunOpts), DataIn = data, DataSizeIn = (uint)frame.Length, Repeat = 1 };
            Check(LibBpf.ProgTestRun(progFd, &opts), "BPF_PROG_TEST_RUN");
            Assert.Equal(unchecked((uint)-1), opts.RetVal); // TC_ACT_UNSPEC: the packet's fate is never ours
        }
    }

    /// <summary>Bin 0's counters summed over CPUs.</summary>
    public MsBin Bin()
    {
        var perCpu = new MsBin[_object.PossibleCpus];
        uint key = 0;
        fixed (MsBin* v = perCpu)
        {
            Check(LibBpf.MapLookupElem(_object.BinsFd, &key, v), "reading bin 0");
        }
        var sum = new MsBin();
        foreach (var b in perCpu)
        {
            sum.InBytes += b.InBytes;
            sum.OutBytes += b.OutBytes;
            sum.InPackets += b.InPackets;
            sum.OutPackets += b.OutPackets;
            sum.InCeBytes += b.InCeBytes;
            sum.InRetransmitBytes += b.InRetransmitBytes;
            sum.OutRetransmitBytes += b.OutRetransmitBytes;
            sum.InCrossRegionBytes += b.InCrossRegionBytes;
            sum.OutCrossRegionBytes += b.OutCrossRegionBytes;
        }
        return sum;
    }

    public ulong NotParsed()
    {
        var perCpu = new MsStats[_object.PossibleCpus];
        uint key = 0;
        fixed (MsStats* v = perCpu)
        {
            Check(LibBpf.MapLookupElem(_object.StatsFd, &key, v), "reading stats");
        }
        return perCpu.Aggregate(0UL, (a, s) => a + s.NotParsed);
    }

    /// <summary>Every flow table entry, as (family, protocol, low endpoint, high endpoint).</summary>
    public IReadOnlyList<Flow> Flows()
    {
        var flows = new List<Flow>();
        MsFlowKey cursor;
        MsFlowKey next;
        MsFlowKey* prev = null;
        while (LibBpf.MapGetNextKey(_object.FlowsFd, prev, &next) == 0)
        {
            flows.Add(new Flow(next.Family, next.Protocol, Address(next.AddressLow, next.Family), next.PortLow, Address(next.AddressHigh, next.Family), next.PortHigh));
            cursor = next;
            prev = &cursor;
        }

        // IPv4 flows live in their own table under the 16-byte key.
        MsFlowKey4 cursor4;
        MsFlowKey4 next4;
        MsFlowKey4* prev4 = null;
        while (LibBpf.MapGetNextKey(_object.Flows4Fd, prev4, &next4) == 0)
        {
            flows.Add(new Flow(4, next4.Protocol, Address(&next4.AddressLow, 4), next4.PortLow, Address(&next4.AddressHigh, 4), next4.PortHigh));
            cursor4 = next4;
            prev4 = &cursor4;
        }
        return flows;
    }

    /// <summary>Distinct-flow bits set in bin 0, both directions.</summary>
    public int SketchBits()
    {
        var s = _object.Sketches;
        int bits = 0;
        for (int w = 0; w < MsSketch.Words; w++)
        {
            bits += System.Numerics.BitOperations.PopCount(s->In[w]) + System.Numerics.BitOperations.PopCount(s->Out[w]);
        }
        return bits;
    }

    private static IPAddress Address(uint* words, byte family) =>
        family == 4 ? new IPAddress(new ReadOnlySpan<byte>(words, 4)) : new IPAddress(new ReadOnlySpan<byte>(words, 16));

    private static void Check(int err, string what)
    {
        if (err != 0)
        {
            throw BpfException.FromErrno($"{what} failed", err);
        }
    }

    public void Dispose() => _object.Dispose();

    internal sealed record Flow(byte Family, byte Protocol, IPAddress Low, ushort LowPort, IPAddress High, ushort HighPort)
    {
        public bool Joins(IPAddress a, IPAddress b) => (Low.Equals(a) && High.Equals(b)) || (Low.Equals(b) && High.Equals(a));
    }
}
