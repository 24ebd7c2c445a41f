// Usage: StoreCrashWriter <directory> <first-index>
// Saves run "crash-{index:D6}" = StoreSyntheticRuns.Realistic(id, seed: index), starting
// index * 2 s after the default start, for index = first-index, first-index + 1, ... until killed.
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Millisampler.Agent.Storage;
using Millisampler.StoreCrashWriter;

if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out int index))
{
    Console.Error.WriteLine("usage: StoreCrashWriter <directory> <first-index>");
    return 2;
}

var options = Options.Create(new RunStoreOptions { Directory = args[0], MaxTotalBytes = long.MaxValue });
using var store = new RunStore(options, TimeProvider.System, NullLogger<RunStore>.Instance);
for (; ; index++)
{
    await store.SaveAsync(CrashRuns.Create(index), CancellationToken.None);
}
