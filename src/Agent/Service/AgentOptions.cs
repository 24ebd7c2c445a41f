using Millisampler.Agent.Bpf;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Schedule;
using Millisampler.Agent.Triggers;
using Millisampler.Common.Time;

namespace Millisampler.Agent.Service;

/// <summary>The agent's settings. Section <c>Agent</c>; validated at start by <see cref="AgentOptionsValidator"/>.</summary>
public sealed class AgentOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Agent";

    /// <summary>
    /// Where the gRPC server listens, https:// (mutual TLS) or, with <c>Security:Insecure=true</c>, http:// (h2c);
    /// <c>--urls</c> overrides it. Default <c>https://127.0.0.1:7300</c> (loopback only: a deployment names the
    /// address the coordinator reaches; <c>http://127.0.0.1:7300</c> in insecure mode).
    /// </summary>
    public string Listen { get; set; } = "";

    /// <summary>The listen URL used when <see cref="Listen"/> is empty.</summary>
    public static string DefaultListen(bool insecure) => insecure ? "http://127.0.0.1:7300" : "https://127.0.0.1:7300";

    /// <summary>
    /// Where Prometheus scrapes <c>/metrics</c> and probes read <c>/healthz</c> and <c>/readyz</c> (cleartext HTTP/1.1,
    /// a port of its own: the gRPC port speaks HTTP/2 only). Empty = no such port. Default <c>http://127.0.0.1:7301</c>,
    /// loopback only; set the host's (or pod's) address to let Prometheus in.
    /// </summary>
    public string MetricsListen { get; set; } = "http://127.0.0.1:7301";

    /// <summary>Interfaces to watch, both directions. A host's series must come from one observation point per direction. Required.</summary>
    public List<string> Interfaces { get; set; } = [];

    /// <summary>Host name recorded in runs and registered with the coordinator. Default: the machine name.</summary>
    public string Host { get; set; } = Environment.MachineName;

    /// <summary>Rack the host belongs to; required when <see cref="CoordinatorAddress"/> is set. Default empty.</summary>
    public string Rack { get; set; } = "";

    /// <summary>Link speed for interfaces whose NIC reports none (veth), bits/s; 0 = unknown. Default 0.</summary>
    public ulong LinkSpeedBitsPerSecond { get; set; }

    /// <summary>How the programs attach: Auto (tcx where the kernel has it, else clsact), Tcx or Clsact. Default Auto.</summary>
    public AttachMode AttachMode { get; set; } = AttachMode.Auto;

    /// <summary>Where the stated clock error comes from: Adjtimex, or SharedHostClock for several agents on one machine. Default Adjtimex.</summary>
    public ClockErrorSource ClockErrorSource { get; set; } = ClockErrorSource.Adjtimex;

    /// <summary>Refuse coordinator runs (FAILED_PRECONDITION) while the clock is not synchronized. Default true.</summary>
    public bool RequireSynchronizedClock { get; set; } = true;

    /// <summary>Largest bin count a run may ask for; sizes the kernel maps. 1..1,000,000, default 2,000.</summary>
    public uint MaxBins { get; set; } = 2000;

    /// <summary>Narrowest bin a run may ask for. Default 10 µs.</summary>
    public TimeSpan MinBinWidth { get; set; } = TimeSpan.FromMicroseconds(10);

    /// <summary>Widest bin a run may ask for. Default 1 s.</summary>
    public TimeSpan MaxBinWidth { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Longest run a ScheduleRun may ask for (bins × bin width); a longer one is refused with INVALID_ARGUMENT
    /// naming this setting, so nobody holds the host's only set of kernel bins for long. Default 60 s
    /// (the longest real run, 2,000 × 10 ms, is 20 s).
    /// </summary>
    public TimeSpan MaxRunDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Furthest ahead a start instant may lie. Default 10 min.</summary>
    public TimeSpan MaxLead { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Nearest a start instant may lie: userspace must arm the kernel before bin 0 begins, so a start
    /// closer than this is refused (FAILED_PRECONDITION). Also the gap kept between two runs. Default 20 ms.
    /// </summary>
    public TimeSpan MinArmMargin { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// A coordinator run is armed this long before its start (at once when accepted closer than that);
    /// a local run still recording then is cut short. At least <see cref="MinArmMargin"/>. Default 500 ms.
    /// </summary>
    public TimeSpan ArmLead { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Flows whose smoothed RTT exceeds this are cross-region, µs. Default 10,000.</summary>
    public uint CrossRegionRttThresholdUs { get; set; } = 10_000;

    /// <summary>Prefix overrides of the RTT rule, "CIDR=remote" or "CIDR=local". Default none.</summary>
    public List<string> RegionPrefixes { get; set; } = [];

    /// <summary>Coordinator to register with, host:port or http://host:port; empty = stand-alone. Default empty.</summary>
    public string CoordinatorAddress { get; set; } = "";

    /// <summary>Address the coordinator dials to reach this agent (host:port). Default: <see cref="Host"/> and the bound port.</summary>
    public string AdvertisedAddress { get; set; } = "";

    /// <summary>First delay between registration or heartbeat retries while the coordinator is away; doubles with jitter. Default 500 ms.</summary>
    public TimeSpan RegistrationRetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest delay between registration or heartbeat retries. Default 30 s.</summary>
    public TimeSpan RegistrationRetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadline of one Register or Heartbeat call. Default 5 s.</summary>
    public TimeSpan CoordinatorCallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long shutdown may take (cut the armed run short, store it, detach). Default 15 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The in-kernel look-back ring (section <c>Agent:Lookback</c>).</summary>
    public LookbackOptions Lookback { get; set; } = new();

    /// <summary>Trigger rules watched on the look-back ring (section <c>Agent:Triggers</c>).</summary>
    public TriggerOptions Triggers { get; set; } = new();

    /// <summary>The continuous schedule (section <c>Agent:Schedule</c>).</summary>
    public ScheduleOptions Schedule { get; set; } = new();

    /// <summary><see cref="MinBinWidth"/> in ns.</summary>
    public long MinBinWidthNs => TimeNs.Of(MinBinWidth);

    /// <summary><see cref="MaxBinWidth"/> in ns.</summary>
    public long MaxBinWidthNs => TimeNs.Of(MaxBinWidth);

    /// <summary><see cref="MaxRunDuration"/> in ns.</summary>
    public long MaxRunDurationNs => TimeNs.Of(MaxRunDuration);

    /// <summary><see cref="MaxLead"/> in ns.</summary>
    public long MaxLeadNs => TimeNs.Of(MaxLead);

    /// <summary><see cref="MinArmMargin"/> in ns.</summary>
    public long MinArmMarginNs => TimeNs.Of(MinArmMargin);

    /// <summary><see cref="ArmLead"/> in ns.</summary>
    public long ArmLeadNs => TimeNs.Of(ArmLead);
}
