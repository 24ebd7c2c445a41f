using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Sampling;

/// <summary>Reads what the host says about its interfaces: index and link speed.</summary>
public static class InterfaceInventory
{
    /// <summary>
    /// Describes an interface. A configured link speed wins (the port behind the NIC may be slower,
    /// as a shaped ToR port is); otherwise the NIC's (sysfs, Mb/s), where it reports one.
    /// </summary>
    public static InterfaceInfo Describe(string name, ulong configuredBitsPerSecond)
    {
        int index = 0;
        try
        {
            index = int.Parse(File.ReadAllText($"/sys/class/net/{name}/ifindex").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            index = (int)Bpf.Native.Libc.IfNameToIndex(name);
        }
        ulong nic = ReadNicSpeed(name);
        var info = new InterfaceInfo { Name = name, Ifindex = index };
        if (configuredBitsPerSecond > 0)
        {
            info.LinkSpeedBitsPerSecond = configuredBitsPerSecond;
            info.LinkSpeedSource = "config";
        }
        else if (nic > 0)
        {
            info.LinkSpeedBitsPerSecond = nic;
            info.LinkSpeedSource = "nic";
        }
        return info;
    }

    private static ulong ReadNicSpeed(string name)
    {
        try
        {
            var text = File.ReadAllText($"/sys/class/net/{name}/speed").Trim();
            return long.TryParse(text, out long mbps) && mbps > 0 ? (ulong)mbps * 1_000_000UL : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0; // veth and virtual devices: EINVAL on read
        }
    }
}
