using System.CommandLine;
using Millisampler.Cli.Connection;
using Millisampler.Cli.Output;
using Millisampler.Cli.Summary;
using Millisampler.Contracts.V1;
using Spectre.Console;

namespace Millisampler.Cli.Captures;

/// <summary>
/// <c>capture</c>: StartCapture; with --wait, follows WatchCapture and prints the summary (GetCapture); without,
/// prints the capture id.
/// </summary>
internal static class CaptureCommand
{
    public static Command Create(CliEnvironment env)
    {
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Option<string> rack = new("--rack") { Description = "Rack to capture", HelpName = "rack", Required = true };
        Option<long?> interval = CommonOptions.Duration("--interval", "Bin width [default: 1ms]", "100us, 1ms, 10ms");
        Option<int?> samples = CommonOptions.Count("--samples", "Bins per host [default: 2000]", "n", 1, int.MaxValue);
        Option<string[]> hosts = CommonOptions.NameList("--hosts", "Hosts to capture, comma-separated [default: every registered host of the rack]", "h1,h2");
        Option<long?> lead = CommonOptions.Duration("--lead", "Lead time before the common start [default: derived from measured round trips]", "500ms, 1s");
        Option<double?> threshold = CommonOptions.Threshold();
        Option<int?> minHosts = CommonOptions.MinHosts();
        Option<bool> wait = new("--wait") { Description = "Follow the capture and print its summary" };
        Option<bool> queue = new("--queue") { Description = "When the rack is busy, queue behind the running capture instead of failing" };
        Option<OutputFormat?> output = CommonOptions.Output();
        Option<long?> lookback = CommonOptions.Duration("--lookback", "Capture the window of this length ending now, read from the agents' look-back rings", "2s, 500ms");
        Option<long?> around = CommonOptions.RelativeInstant("--around", "Capture a window around this instant from the look-back rings (with --before/--after)");
        Option<long?> before = CommonOptions.Duration("--before", "With --around: the window starts this long before the instant [default: 1s]", "1s, 500ms");
        Option<long?> after = CommonOptions.Duration("--after", "With --around: the window ends this long after the instant [default: 1s]", "1s, 500ms");

        var command = new Command("capture", "Capture a whole rack at one instant, then analyse bursts, contention and synchronized events")
        {
            coordinator, rack, interval, samples, hosts, lead, threshold, minHosts, wait, queue, output, lookback, around, before, after,
        };
        command.SetAction(async (r, ct) =>
        {
            bool window = r.GetValue(lookback) is not null || r.GetValue(around) is not null;
            var request = new StartCaptureRequest
            {
                Rack = r.GetValue(rack)!,
                // A window's bins follow from its length; its width defaults to the finest ring the hosts keep.
                BinWidthNs = r.GetValue(interval) ?? (window ? 0 : 1_000_000),
                Bins = window ? 0 : (uint)(r.GetValue(samples) ?? 2000),
                LeadTimeNs = r.GetValue(lead) ?? 0,
                BurstThreshold = r.GetValue(threshold) ?? 0,
                EventMinHosts = (uint)(r.GetValue(minHosts) ?? 0),
                WaitIfBusy = r.GetValue(queue),
            };
            request.Hosts.AddRange(r.GetValue(hosts) ?? []);
            ApplyWindow(request, r.GetValue(lookback), r.GetValue(around), r.GetValue(before), r.GetValue(after),
                r.GetValue(samples) is not null, r.GetValue(lead) is not null);
            if (string.IsNullOrWhiteSpace(request.Rack))
            {
                throw new UsageException("--rack: must name a rack");
            }

            using CoordinatorConnection conn = coordinator.Open(r);
            return await RunAsync(env, conn, request, r.GetValue(wait), r.OutputOf(output), ct).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Sets the request's window from --lookback or --around/--before/--after; usage errors name the option.</summary>
    internal static void ApplyWindow(StartCaptureRequest request, long? lookback, long? aroundUnixNs, long? before, long? after,
        bool samplesGiven, bool leadGiven)
    {
        if (lookback is not null && aroundUnixNs is not null)
        {
            throw new UsageException("--lookback and --around: give one window, not both");
        }

        if (aroundUnixNs is null && (before is not null || after is not null))
        {
            throw new UsageException("--before/--after: only with --around");
        }

        if (lookback is null && aroundUnixNs is null)
        {
            return;
        }

        if (samplesGiven || leadGiven)
        {
            throw new UsageException($"{(samplesGiven ? "--samples" : "--lead")}: not with a window; --lookback/--around set the bins and nothing is armed");
        }

        if (lookback is { } l)
        {
            request.LookbackNs = l;
        }
        else
        {
            request.Around = new AroundWindow { InstantUnixNs = aroundUnixNs!.Value, BeforeNs = before ?? 1_000_000_000, AfterNs = after ?? 1_000_000_000 };
        }
    }

    internal static async Task<int> RunAsync(CliEnvironment env, CoordinatorConnection conn, StartCaptureRequest request, bool wait,
        OutputFormat output, CancellationToken cancellationToken)
    {
        Capture started;
        try
        {
            started = await conn.CallAsync((c, t) => c.StartCaptureAsync(request, cancellationToken: t).ResponseAsync, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new CliException("interrupted before the coordinator answered; the capture may have started: "
                + $"millisampler captures list --rack {request.Rack}", ExitCodes.Interrupted);
        }

        if (!wait)
        {
            if (output == OutputFormat.Json)
            {
                CliConsole.WriteJson(env.Stdout, started);
            }
            else
            {
                env.Stdout.WriteLine(started.CaptureId);
            }

            return ExitCodes.Ok;
        }

        return await WaitAndShowAsync(env, conn, started, output, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Follows a capture to its end, then prints it; exit 1 when it failed, 130 when interrupted.</summary>
    internal static async Task<int> WaitAndShowAsync(CliEnvironment env, CoordinatorConnection conn, Capture started,
        OutputFormat output, CancellationToken cancellationToken)
    {
        string captureId = started.CaptureId;
        // JSON on stdout stays parseable: progress then goes to stderr.
        bool toStderr = output == OutputFormat.Json;
        IAnsiConsole progress = CliConsole.Create(toStderr ? env.Stderr : env.Stdout, toStderr ? env.StderrIsTerminal : env.StdoutIsTerminal);
        Capture capture;
        try
        {
            await FollowAsync(env, conn, started, progress, cancellationToken).ConfigureAwait(false);
            capture = await conn.CallAsync(
                (c, t) => c.GetCaptureAsync(new GetCaptureRequest { CaptureId = captureId }, cancellationToken: t).ResponseAsync,
                cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new CliException($"stopped waiting; capture {captureId} goes on without us. Show it later: millisampler captures show {captureId}",
                ExitCodes.Interrupted);
        }

        if (output == OutputFormat.Json)
        {
            CliConsole.WriteJson(env.Stdout, capture);
        }
        else
        {
            progress.Line();
            new CaptureSummaryRenderer(CliConsole.Create(env.Stdout, env.StdoutIsTerminal)).Render(capture);
        }

        return capture.State == CaptureState.Failed ? ExitCodes.Failed : ExitCodes.Ok;
    }

    // How often a running capture's bins elapsed and time left are brought up to date.
    private static readonly TimeSpan TickPeriod = TimeSpan.FromMilliseconds(250);

    private static async Task FollowAsync(CliEnvironment env, CoordinatorConnection conn, Capture started, IAnsiConsole console, CancellationToken ct)
    {
        string captureId = started.CaptureId;
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (!console.Profile.Capabilities.Interactive)
        {
            var printer = new CaptureProgressPrinter(console, started.Bins, started.BinWidthNs);
            Task ticks = TickAsync(env, () => printer.Tick(env.TaiClock.NowNs()), watching.Token);
            try
            {
                await conn.WatchAsync(captureId, p =>
                {
                    printer.Show(p, env.TaiClock.NowNs());
                    return Task.CompletedTask;
                }, ct).ConfigureAwait(false);
            }
            finally
            {
                await watching.CancelAsync().ConfigureAwait(false);
                await ticks.ConfigureAwait(false);
            }

            return;
        }

        var table = new CaptureProgressTable(started.Bins, started.BinWidthNs);
        await console.Live(table.Render(console, env.TaiClock.NowNs())).AutoClear(false).StartAsync(async ctx =>
        {
            var gate = new Lock();
            void Redraw()
            {
                lock (gate)
                {
                    ctx.UpdateTarget(table.Render(console, env.TaiClock.NowNs()));
                }
            }

            Task ticks = TickAsync(env, Redraw, watching.Token);
            try
            {
                await conn.WatchAsync(captureId, p =>
                {
                    table.Update(p);
                    Redraw();
                    return Task.CompletedTask;
                }, ct).ConfigureAwait(false);
            }
            finally
            {
                await watching.CancelAsync().ConfigureAwait(false);
                await ticks.ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
    }

    private static async Task TickAsync(CliEnvironment env, Action tick, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TickPeriod, env.Clock);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                tick();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
