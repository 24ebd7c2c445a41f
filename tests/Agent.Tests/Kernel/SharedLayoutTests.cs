using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Millisampler.Agent.Bpf.Native;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>
/// bpf/millisampler.h against its C# mirror: compiles a small C program against the header with clang and
/// compares every field's offset, every struct's size and every shared constant with SharedTypes.cs.
/// </summary>
public sealed class SharedLayoutTests
{
    /// <summary>Each mirrored struct: its C name, and every C# field with the C field it mirrors.</summary>
    private static readonly (Type Type, string C, (string Field, string CField)[] Fields)[] Structs =
    [
        (typeof(MsConfig), "ms_config", [("StartNs", "start_ns"), ("BinWidthNs", "bin_width_ns"), ("Bins", "nbins"), ("Armed", "armed"), ("RttThresholdUs", "rtt_threshold_us"), ("PrefixGeneration", "prefix_gen")]),
        (typeof(MsBin), "ms_bin", [("InBytes", "in_bytes"), ("OutBytes", "out_bytes"), ("InPackets", "in_packets"), ("OutPackets", "out_packets"), ("InCeBytes", "in_ce_bytes"), ("InRetransmitBytes", "in_rxmit_bytes"), ("OutRetransmitBytes", "out_rxmit_bytes"), ("InCrossRegionBytes", "in_xregion_bytes"), ("OutCrossRegionBytes", "out_xregion_bytes")]),
        (typeof(MsSketch), "ms_sketch", [("In", "in"), ("Out", "out")]),
        (typeof(MsFlowKey), "ms_flow_key", [("AddressLow", "addr_lo"), ("AddressHigh", "addr_hi"), ("PortLow", "port_lo"), ("PortHigh", "port_hi"), ("Family", "family"), ("Protocol", "proto"), ("Padding", "pad")]),
        (typeof(MsFlowKey4), "ms_flow_key4", [("AddressLow", "addr_lo"), ("AddressHigh", "addr_hi"), ("PortLow", "port_lo"), ("PortHigh", "port_hi"), ("Protocol", "proto"), ("Padding", "pad")]),
        (typeof(MsFlow), "ms_flow", [("SeqEnd", "seq_end"), ("SketchBit", "sketch_bit"), ("PrefixGeneration", "prefix_gen"), ("RttCheckedNs", "rtt_checked_ns"), ("SeqValid", "seq_valid"), ("Region", "region"), ("RegionSource", "region_src"), ("IpIdMax", "ip_id_max")]),
        (typeof(MsPrefixKey), "ms_prefix_key", [("PrefixLength", "prefixlen"), ("Address", "addr")]),
        (typeof(MsPrefixValue), "ms_prefix_value", [("Region", "region")]),
        (typeof(MsRingParams), "ms_ring_params", [("WidthNs", "width_ns"), ("Depth", "depth"), ("On", "on")]),
        (typeof(MsRingBin), "ms_ring_bin", [("Bin", "bin"), ("InBytes", "in_bytes"), ("OutBytes", "out_bytes"), ("InPackets", "in_packets"), ("OutPackets", "out_packets"), ("InCeBytes", "in_ce_bytes"), ("InRetransmitBytes", "in_rxmit_bytes"), ("OutRetransmitBytes", "out_rxmit_bytes"), ("InCrossRegionBytes", "in_xregion_bytes"), ("OutCrossRegionBytes", "out_xregion_bytes"), ("Pad", "pad")]),
        (typeof(MsRingSketch), "ms_ring_sketch", [("Bin", "bin"), ("In", "in"), ("Out", "out")]),
        (typeof(MsStats), "ms_stats", [("ArmedEarly", "armed_early"), ("ArmedLate", "armed_late"), ("NotParsed", "not_parsed"), ("FlowInsertFailures", "flow_insert_fail")]),
    ];

    private static readonly (string C, long Value)[] Constants =
    [
        ("MS_SKETCH_WORDS", MsSketch.Words),
        ("MS_SKETCH_BITS", MsSketch.Bits),
        ("MS_REGION_LOCAL", MsRegion.Local),
        ("MS_REGION_REMOTE", MsRegion.Remote),
        ("MS_REGION_SRC_NONE", MsRegionSource.None),
        ("MS_REGION_SRC_RTT", MsRegionSource.Rtt),
        ("MS_REGION_SRC_PREFIX", MsRegionSource.Prefix),
    ];

    private static readonly Lazy<Dictionary<string, long>> CLayout = new(CompileAndRun);

    public static TheoryData<string> StructNames() => new(Structs.Select(s => s.C));

    [Theory]
    [MemberData(nameof(StructNames))]
    public void Struct_EveryFieldOffsetAndTheSize_MatchTheHeader(string cName)
    {
        var (type, _, fields) = Structs.Single(s => s.C == cName);
        var declared = type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Select(f => f.Name).Order();
        Assert.Equal(declared, fields.Select(f => f.Field).Order()); // the table above names every C# field
        foreach (var (field, cField) in fields)
        {
            Assert.True(CLayout.Value.TryGetValue($"{cName}.{cField}", out long offset), $"struct {cName} has no field {cField}");
            Assert.Equal((cName, cField, offset), (cName, cField, (long)Marshal.OffsetOf(type, field)));
        }
        Assert.Equal((cName, CLayout.Value[$"sizeof {cName}"]), (cName, (long)SizeOf(type)));
    }

    [Fact]
    public void Constants_MatchTheHeader()
    {
        foreach (var (name, value) in Constants)
        {
            Assert.Equal((name, CLayout.Value[name]), (name, value));
        }
    }

    private static int SizeOf(Type type) =>
        (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!;

    /// <summary>Builds a native program that prints offsetof/sizeof/constant values from the header, and runs it.</summary>
    private static Dictionary<string, long> CompileAndRun()
    {
        var dir = Directory.CreateTempSubdirectory("ms-layout-");
        try
        {
            var lines = new List<string> { "#include <stdio.h>", "#include <stddef.h>", "#include \"millisampler.h\"", "int main(void) {" };
            foreach (var (_, c, fields) in Structs)
            {
                lines.AddRange(fields.Select(f => $"  printf(\"{c}.{f.CField} %zu\\n\", offsetof(struct {c}, {f.CField}));"));
                lines.Add($"  printf(\"sizeof {c} %zu\\n\", sizeof(struct {c}));");
            }
            lines.AddRange(Constants.Select(k => $"  printf(\"{k.C} %lld\\n\", (long long)({k.C}));"));
            lines.Add("  return 0;\n}");
            var source = Path.Combine(dir.FullName, "layout.c");
            var exe = Path.Combine(dir.FullName, "layout");
            File.WriteAllLines(source, lines);
            Run("clang", ["-Wall", "-Werror", "-I", Path.Combine(Repo.Root, "bpf"), source, "-o", exe]);
            return Run(exe, []).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' '))
                .ToDictionary(p => string.Join(' ', p[..^1]), p => long.Parse(p[^1], System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} failed: {stderr}");
        return stdout.Result;
    }
}
