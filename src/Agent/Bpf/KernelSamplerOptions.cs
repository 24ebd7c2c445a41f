namespace Millisampler.Agent.Bpf;

/// <summary>What the kernel sampler attaches to and how.</summary>
public sealed record KernelSamplerOptions
{
    /// <summary>Interfaces to watch. A host's series must come from one observation point per direction.</summary>
    public required IReadOnlyList<string> Interfaces { get; init; }

    public AttachMode AttachMode { get; init; } = AttachMode.Auto;

    /// <summary>tc priority of our clsact filters (clsact mode only); lower runs first.</summary>
    public ushort ClsactPriority { get; init; } = 1;

    public SamplerLoadOptions Load { get; init; } = new();

    /// <summary>Flows whose smoothed RTT exceeds this are cross-region, µs.</summary>
    public uint CrossRegionRttThresholdUs { get; init; } = 10_000;

    /// <summary>Prefix overrides of the RTT rule, longest match wins.</summary>
    public IReadOnlyList<RegionPrefix> RegionPrefixes { get; init; } = [];
}
