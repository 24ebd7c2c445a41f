using System.Globalization;
using Millisampler.Benchmarks;
using Millisampler.Contracts.V1;

namespace Millisampler.StoreCrashWriter;

/// <summary>The runs the crash writer saves, so the test can rebuild what each file must hold.</summary>
public static class CrashRuns
{
    /// <summary>Run id prefix.</summary>
    public const string Prefix = "crash-";

    /// <summary>The run with this index.</summary>
    public static Run Create(int index) => StoreSyntheticRuns.Realistic(
        Prefix + index.ToString("D6", CultureInfo.InvariantCulture),
        seed: index,
        startTaiNs: StoreSyntheticRuns.DefaultStartTaiNs + (index * 2_000_000_000L));
}
