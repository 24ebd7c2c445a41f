using System.CommandLine;
using System.Runtime.InteropServices;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Analysis.Datasets;
using Millisampler.Common.Text;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Capture;

/// <summary>
/// `millisampler-agent capture`: a one-off local run for a person on the host and for tests.
/// Progress goes to stderr, the result to stdout, so `> run.json` captures only the data.
/// </summary>
internal static class CaptureCommand
{
    internal const long MinBinWidthNs = 1_000;            // 1 µs: below this a bin holds a packet or two
    internal const long MaxBinWidthNs = 10_000_000_000;   // 10 s
    internal const long MaxLeadNs = 3_600_000_000_000;    // an hour

    public static Command Create()
    {
        var interfaces = new Option<string[]>("--interface", "-i") { Description = "Interface to watch (repeat for more).", Required = true, AllowMultipleArgumentsPerToken = false };
        var interval = new Option<string>("--interval") { Description = "Bin width: 100us, 1ms, 10ms ...", DefaultValueFactory = _ => "1ms" };
        var samples = new Option<uint>("--samples") { Description = "Number of bins.", DefaultValueFactory = _ => 2000 };
        var startAt = new Option<long?>("--start-at") { Description = "Start of bin 0 as TAI nanoseconds since the epoch." };
        var startIn = new Option<string?>("--start-in") { Description = "Start of bin 0 this long from now (default 200ms)." };
        var output = new Option<string>("--output", "-o") { Description = "json (Meta's data-set shape plus ours) or table.", DefaultValueFactory = _ => "table" };
        output.AcceptOnlyFromAmong("json", "table");
        var host = new Option<string?>("--host") { Description = "Host name to record (default: this machine's)." };
        var rack = new Option<string>("--rack") { Description = "Rack to record.", DefaultValueFactory = _ => string.Empty };
        var linkSpeed = new Option<string?>("--link-speed") { Description = "Link speed where the NIC reports none (veth): 10g, 25g, 100m ..." };
        var attach = new Option<AttachMode>("--attach") { Description = "tcx, clsact or auto.", DefaultValueFactory = _ => AttachMode.Auto };
        var monotonic = new Option<bool>("--monotonic-clock") { Description = "Use the CLOCK_MONOTONIC programs even where the kernel reads TAI." };
        var rtt = new Option<uint>("--cross-region-rtt-us") { Description = "Flows with a smoothed RTT above this (µs) are cross-region.", DefaultValueFactory = _ => 10_000 };
        var prefixes = new Option<string[]>("--region-prefix") { Description = "CIDR=remote or CIDR=local, overriding the RTT rule (repeatable)." };

        var command = new Command("capture", "Record one run on this host and print it.")
        {
            interfaces, interval, samples, startAt, startIn, output, host, rack, linkSpeed, attach, monotonic, rtt, prefixes,
        };
        command.SetAction(async (parse, ct) =>
        {
            var errors = new List<string>();
            if (!DurationText.TryParseNs(parse.GetValue(interval), out long widthNs) || widthNs < MinBinWidthNs || widthNs > MaxBinWidthNs)
            {
                errors.Add($"--interval: '{parse.GetValue(interval)}' must be a duration from {DurationText.Format(MinBinWidthNs)} to {DurationText.Format(MaxBinWidthNs)} (e.g. 100us, 1ms, 10ms).");
            }

            uint bins = parse.GetValue(samples);
            if (bins is < 1 or > SamplerLoadOptions.MaxBinsLimit)
            {
                errors.Add($"--samples: {bins} must be 1..{SamplerLoadOptions.MaxBinsLimit}.");
            }

            long? at = parse.GetValue(startAt);
            string? inText = parse.GetValue(startIn);
            if (at is not null && inText is not null)
            {
                errors.Add("--start-at and --start-in: give one, not both.");
            }

            long leadNs = 200_000_000;
            if (inText is not null && (!DurationText.TryParseNs(inText, out leadNs) || leadNs > MaxLeadNs))
            {
                errors.Add($"--start-in: '{inText}' must be a duration up to 1h.");
            }

            ulong speed = 0;
            string? speedText = parse.GetValue(linkSpeed);
            if (speedText is not null && !RateText.TryParseLinkSpeed(speedText, out speed))
            {
                errors.Add($"--link-speed: '{speedText}' must be a rate like 100m, 10g, 25g, 10Gbit/s (bits/s).");
            }

            var regionPrefixes = new List<RegionPrefix>();
            foreach (var p in parse.GetValue(prefixes) ?? [])
            {
                try
                {
                    regionPrefixes.Add(RegionPrefix.Parse(p));
                }
                catch (FormatException e)
                {
                    errors.Add($"--region-prefix: {e.Message}");
                }
            }
            if (errors.Count > 0)
            {
                foreach (var e in errors)
                {
                    Console.Error.WriteLine($"error: {e}");
                }

                return 2;
            }

            var names = parse.GetValue(interfaces)!;
            var options = new KernelSamplerOptions
            {
                Interfaces = names,
                AttachMode = parse.GetValue(attach),
                Load = new SamplerLoadOptions { MaxBins = bins, ForceMonotonicClock = parse.GetValue(monotonic) },
                CrossRegionRttThresholdUs = parse.GetValue(rtt),
                RegionPrefixes = regionPrefixes,
            };
            var identity = new HostIdentity(
                parse.GetValue(host) ?? Environment.MachineName,
                parse.GetValue(rack) ?? string.Empty,
                names.Select(n => InterfaceInventory.Describe(n, speed)).ToList());
            return await RunAsync(options, identity, at, leadNs, widthNs, bins, parse.GetValue(output)!, ct).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(KernelSamplerOptions options, HostIdentity identity, long? startAt, long leadNs, long widthNs, uint bins, string output, CancellationToken ct)
    {
        var clock = new HostClock();
        KernelSampler sampler;
        try
        {
            sampler = KernelSampler.Open(options, clock);
        }
        catch (BpfException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            if (e.KernelLog.Length > 0)
            {
                Console.Error.WriteLine(e.KernelLog);
            }

            return 3;
        }

        using (sampler)
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(ct))
        using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); }))
        {
            long start = startAt ?? clock.NowTaiNs() + leadNs;
            if (start + widthNs * bins <= clock.NowTaiNs())
            {
                Console.Error.WriteLine("error: --start-at: that run would already be over.");
                return 2;
            }
            var recorder = new RunRecorder(sampler, clock, identity, TimeProvider.System);
            var request = new RunRequest($"local-{start}", start, widthNs, bins, RunOrigin.Local);
            Console.Error.WriteLine($"watching {string.Join(", ", sampler.Interfaces)} ({sampler.Mode.Name()}, clock {(sampler.Clock == ClockSource.Tai ? "TAI" : "monotonic, mapped from TAI")})");
            using var progress = ReportProgressAsync(clock, request, stop.Token);
            Run run;
            try
            {
                run = await recorder.RecordAsync(request, stop.Token,
                    () => Console.Error.WriteLine($"armed: {bins} × {DurationText.Format(widthNs)} bins from TAI {start} ns ({DurationText.Format(widthNs * bins)})")).ConfigureAwait(false);
            }
            catch (BpfException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 3;
            }
            if (run.Status == RunStatus.CutShort)
            {
                Console.Error.WriteLine($"stopped: {run.BinsRecorded} of {run.Bins} bins recorded");
            }

            Console.Out.Flush();
            if (output == "json")
            {
                CaptureOutput.WriteJson(Console.OpenStandardOutput(), run);
            }
            else
            {
                CaptureOutput.WriteTable(Console.Out, run);
            }

            return run.Status == RunStatus.Complete ? 0 : 1;
        }
    }

    private static Timer ReportProgressAsync(HostClock clock, RunRequest request, CancellationToken ct)
    {
        if (Console.IsErrorRedirected)
        {
            return new Timer(_ => { }, null, Timeout.Infinite, Timeout.Infinite);
        }

        return new Timer(_ =>
        {
            if (ct.IsCancellationRequested)
            {
                return;
            }

            long now = clock.NowTaiNs();
            string text = now < request.StartTaiNs
                ? $"starting in {(request.StartTaiNs - now) / 1_000_000} ms"
                : $"bin {Math.Min(request.Bins, (now - request.StartTaiNs) / request.BinWidthNs)} of {request.Bins}";
            Console.Error.Write($"\r{text,-40}\r");
        }, null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
    }
}
