using System.Diagnostics;
using System.Net;
using Millisampler.Agent.Bpf;
using Millisampler.Lab;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>
/// After a stop, and after SIGKILL plus a restart, nothing of ours stays attached; a foreign
/// program on the same hook (standing for a CNI) stays attached and keeps seeing every packet.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class LifecycleTests
{
    [Theory]
    [InlineData(AttachMode.Tcx)]
    [InlineData(AttachMode.Clsact)]
    public async Task NormalStop_DetachesOnlyOurs_ForeignProgramSeesEveryPacket(AttachMode mode)
    {
        await using var net = await PairNetwork.CreateAsync(offloads: false);
        using var foreign = Repo.LoadTestObject("foreign_counter");
        using var foreignHook = NetNs.Run(net.Rx, () => HookAttachment.Attach(PairNetwork.If, foreign.ProgramFd("foreign_counter"), HookDirection.Ingress, mode, clsactPriority: 2));
        await using var sink = UdpSink.Start(net.Rx, new IPEndPoint(PairNetwork.RxAddress, 5001));
        var target = new IPEndPoint(PairNetwork.RxAddress, 5001);

        var before = NetStats.ReadInterface(net.Rx, PairNetwork.If);
        ulong foreignBefore = ForeignCount(foreign);
        using (var sampler = Sampler.Open(net.Rx, PairNetwork.If, o => o with { AttachMode = mode }))
        {
            Assert.Equal(mode, sampler.Mode);
            var run = Sampler.RecordAsync(sampler, TaiClock.FromNow(TimeSpan.FromMilliseconds(100)), 10_000_000, 50);
            TaiClock.SleepUntil(TaiClock.FromNow(TimeSpan.FromMilliseconds(150)));
            await UdpBurst.RunAsync([new BurstSender(net.Tx, 500_000)], target, TaiClock.NowNs(), 1000, segmentationOffload: false);
            Assert.True((await run).Series.IngressBytes.Sum() > 500_000);
            Assert.Contains(OurPrograms(net, mode), n => n.StartsWith("ms_", StringComparison.Ordinal));
        }
        Assert.DoesNotContain(OurPrograms(net, mode), n => n.StartsWith("ms_", StringComparison.Ordinal));
        Assert.Contains("foreign_counter", OurPrograms(net, mode));

        // Traffic after our stop reaches the foreign program too.
        await UdpBurst.RunAsync([new BurstSender(net.Tx, 200_000)], target, TaiClock.NowNs(), 1000, segmentationOffload: false);
        var delta = NetStats.ReadInterface(net.Rx, PairNetwork.If).Minus(before);
        Assert.Equal((ulong)delta.RxPackets, ForeignCount(foreign) - foreignBefore);
    }

    [Theory]
    [InlineData(AttachMode.Tcx, false)]
    [InlineData(AttachMode.Clsact, false)]
    [InlineData(AttachMode.Tcx, true)]
    [InlineData(AttachMode.Clsact, true)]
    public async Task Sigkill_ThenRestart_LeavesNothingOfOursAttached(AttachMode mode, bool onlyDeployedCapabilities)
    {
        await using var net = await PairNetwork.CreateAsync();
        using var foreign = Repo.LoadTestObject("foreign_counter");
        using var foreignHook = NetNs.Run(net.Rx, () => HookAttachment.Attach(PairNetwork.If, foreign.ProgramFd("foreign_counter"), HookDirection.Ingress, mode, clsactPriority: 2));
        string attach = mode == AttachMode.Tcx ? "tcx" : "clsact";

        // With only the capabilities the Helm chart grants (BPF, PERFMON, NET_ADMIN) the agent cannot
        // look a stale filter's program up by id (CAP_SYS_ADMIN); it must still recognise its own.
        using (var agent = StartCapture(net.Rx, attach, samples: 2000, onlyDeployedCapabilities))
        {
            await WaitForLineAsync(agent, "armed:");
            Assert.Contains(OurPrograms(net, mode), n => n.StartsWith("ms_", StringComparison.Ordinal));
            agent.Kill();
            await agent.WaitForExitAsync();
        }

        if (mode == AttachMode.Tcx)
        {
            // tcx links die with the process's file descriptors.
            Assert.DoesNotContain(OurPrograms(net, mode), n => n.StartsWith("ms_", StringComparison.Ordinal));
        }
        else
        {
            // A clsact filter outlives its process; the next start replaces it, the next stop removes it.
            Assert.Contains("ms_ingress", OurPrograms(net, mode));
        }

        using (var again = StartCapture(net.Rx, attach, samples: 5, onlyDeployedCapabilities))
        {
            var stderr = again.StandardError.ReadToEndAsync();
            await again.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(again.ExitCode == 0, $"restart failed ({again.ExitCode}): {await stderr}");
        }
        var left = OurPrograms(net, mode);
        Assert.DoesNotContain(left, n => n.StartsWith("ms_", StringComparison.Ordinal));
        Assert.Contains("foreign_counter", left);
    }

    private static Process StartCapture(string ns, string attach, int samples, bool onlyDeployedCapabilities)
    {
        var psi = new ProcessStartInfo("ip")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        string[] restrict = onlyDeployedCapabilities
            ? ["setpriv", "--bounding-set", "-all,+bpf,+perfmon,+net_admin", "--inh-caps", "-all,+bpf,+perfmon,+net_admin", "--no-new-privs"]
            : [];
        foreach (var a in new[] { "netns", "exec", ns }.Concat(restrict).Concat(["dotnet", Repo.AgentDll, "capture", "-i", PairNetwork.If, "--interval", "10ms", "--samples", samples.ToString(System.Globalization.CultureInfo.InvariantCulture), "--start-in", "100ms", "--attach", attach, "--output", "json"]))
        {
            psi.ArgumentList.Add(a);
        }

        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        return p;
    }

    private static async Task WaitForLineAsync(Process p, string prefix)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await p.StandardError.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return;
            }
        }
        throw new InvalidOperationException($"agent exited ({(p.HasExited ? p.ExitCode : -1)}) before printing '{prefix}'");
    }

    /// <summary>Names of the programs on rx's eth0 ingress hook, for the given mechanism.</summary>
    private static IReadOnlyList<string> OurPrograms(PairNetwork net, AttachMode mode)
    {
        if (mode == AttachMode.Tcx)
        {
            return Sampler.TcxPrograms(net.Rx, PairNetwork.If, HookDirection.Ingress).Select(p => p.Name).ToList();
        }

        var text = net.Lab.ExecAsync(net.Rx, "tc", "filter", "show", "dev", PairNetwork.If, "ingress").GetAwaiter().GetResult().StdOut;
        return text.Split(' ', '\n').Where(w => w.StartsWith("ms_", StringComparison.Ordinal) || w.StartsWith("foreign_", StringComparison.Ordinal)).ToList();
    }

    private static unsafe ulong ForeignCount(BpfObject foreign)
    {
        uint key = 0;
        ulong value;
        Assert.Equal(0, Bpf.Native.LibBpf.MapLookupElem(foreign.MapFd("foreign_packets", 8), &key, &value));
        return value;
    }
}
