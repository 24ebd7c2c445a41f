using Millisampler.Agent.Bpf;
using Millisampler.Lab;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>
/// The program check behind the agent's health (<c>program</c>) and <c>millisampler_agent_program_attached</c>, against
/// the kernel: another tool removes what the agent attached, and the check says so (the service-level tests use a fake
/// engine).
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class HookHealthTests
{
    [Fact]
    public async Task CheckHooks_ClsactQdiscDeletedByAnotherTool_BothDirectionsDetachedNamingTheFilter()
    {
        await using var net = await PairNetwork.CreateAsync();
        using var sampler = Sampler.Open(net.Rx, PairNetwork.If, o => o with { AttachMode = AttachMode.Clsact });
        Assert.All(sampler.CheckHooks(), h => Assert.True(h.Attached, h.Detail));

        await Shell.RunAsync("ip", ["netns", "exec", net.Rx, "tc", "qdisc", "del", "dev", PairNetwork.If, "clsact"]);

        var hooks = sampler.CheckHooks();
        Assert.Equal(["egress", "ingress"], hooks.Select(h => h.Direction).Order());
        Assert.All(hooks, h =>
        {
            Assert.False(h.Attached);
            Assert.Contains("is no longer on eth0", h.Detail);
        });
    }

    [Theory]
    [InlineData(AttachMode.Tcx)]
    [InlineData(AttachMode.Clsact)]
    public async Task CheckHooks_InterfaceDeleted_DetachedInterfaceGone(AttachMode mode)
    {
        await using var net = await PairNetwork.CreateAsync();
        using var sampler = Sampler.Open(net.Rx, PairNetwork.If, o => o with { AttachMode = mode });
        Assert.All(sampler.CheckHooks(), h => Assert.True(h.Attached, h.Detail));

        await Shell.RunAsync("ip", ["netns", "exec", net.Rx, "ip", "link", "del", PairNetwork.If]);

        Assert.All(sampler.CheckHooks(), h =>
        {
            Assert.False(h.Attached);
            Assert.Contains("interface eth0", h.Detail);
            Assert.Contains("is gone", h.Detail);
        });
    }
}
