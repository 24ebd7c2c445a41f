using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Storage;

/// <summary>
/// The agent's runs on local disk, one file a run, readable after a restart.
/// </summary>
/// <remarks>
/// <para>Each run is written atomically (temp file, fsync, rename, directory fsync), so a crash
/// leaves it whole or absent. Every read checks the file's CRC; a corrupt file is logged, moved to
/// <c>quarantine/</c> and never served.</para>
/// <para>The index (run id, start, bin width, origin, size) comes from the file names, so opening
/// and listing do not decode files; a run's summary is read once, on first listing, and cached.</para>
/// <para>Pins hold runs a coordinator has scheduled but not fetched: retention does not delete them until the
/// pin lapses (<see cref="RunStoreOptions.PinExpiryMinutes"/> after it was set), so space can always be
/// reclaimed. A pin may precede the run's file, so pins live in their own small file (<c>pins</c>: the
/// escaped run id and the pin's unix time in seconds a line), replaced atomically on every change.</para>
/// <para>Thread-safe. Writes (save, pin, retention, quarantine) are serialized; reads run in parallel
/// with them. One process owns a directory at a time (an exclusive lock on <c>store.lock</c>).</para>
/// </remarks>
public sealed partial class RunStore : IDisposable
{
    private const string QuarantineDirectoryName = "quarantine";
    private const string ArmedDirectoryName = "armed";
    private const string PinsFileName = "pins";
    private const string LockFileName = "store.lock";
    private const string PinsHeader = "# Pinned run ids, escaped as in run file names, and the unix second each was pinned; written by the Millisampler agent.";

    // Larger files cannot be produced by RunFileFormat; reading one would only waste memory.
    private const long MaxFileBytes = RunFileFormat.HeaderLength + RunFileFormat.MaxSummaryBytes + (RunFileFormat.MaxPayloadBytes * 2L);

    private readonly RunStoreOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<RunStore> _logger;
    private readonly string _quarantineDirectory;
    private readonly string _armedDirectory;
    private readonly List<RunSummary> _leftoverArmed = [];
    private readonly FileStream _directoryLock;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Lock _sync = new();
    private readonly Dictionary<string, Entry> _runs = new(StringComparer.Ordinal);
    private Dictionary<string, long> _pins;
    private long _totalBytes;
    private volatile bool _disposed;

    /// <summary>Opens (creating if needed) the store in <see cref="RunStoreOptions.Directory"/>.</summary>
    /// <remarks>Removes temp files an interrupted write left, and indexes the runs from their file names.</remarks>
    /// <exception cref="ValidationException">The options are out of range.</exception>
    /// <exception cref="IOException">Another process has the directory open.</exception>
    public RunStore(IOptions<RunStoreOptions> options, TimeProvider timeProvider, ILogger<RunStore> logger)
    {
        _options = options.Value;
        Validator.ValidateObject(_options, new ValidationContext(_options), validateAllProperties: true);
        _timeProvider = timeProvider;
        _logger = logger;
        Directory = Path.GetFullPath(_options.Directory);
        _quarantineDirectory = Path.Combine(Directory, QuarantineDirectoryName);
        _armedDirectory = Path.Combine(Directory, ArmedDirectoryName);
        System.IO.Directory.CreateDirectory(Directory);
        System.IO.Directory.CreateDirectory(_quarantineDirectory);
        System.IO.Directory.CreateDirectory(_armedDirectory);

        _directoryLock = AcquireDirectoryLock(Directory);
        try
        {
            _pins = LoadPins();
            ScanDirectory();
            LoadArmed();
        }
        catch
        {
            _directoryLock.Dispose();
            throw;
        }

        Log.Opened(_logger, Directory, _runs.Count, _totalBytes, _pins.Count);
    }

    /// <summary>Absolute path of the store directory.</summary>
    public string Directory { get; }

    /// <summary>The options the store was opened with.</summary>
    public RunStoreOptions Options => _options;

    /// <summary>Runs stored.</summary>
    public int Count
    {
        get
        {
            lock (_sync)
            {
                return _runs.Count;
            }
        }
    }

    /// <summary>Runs pinned (kept by retention until a coordinator fetched them).</summary>
    public int PinnedCount
    {
        get
        {
            lock (_sync)
            {
                return _pins.Count;
            }
        }
    }

    /// <summary>Bytes of all run files (quarantine and the pins file excluded).</summary>
    public long TotalBytes
    {
        get
        {
            lock (_sync)
            {
                return _totalBytes;
            }
        }
    }

    /// <summary>
    /// Checks a caller-chosen run id: 1 to 64 UTF-8 bytes, valid Unicode, no control characters,
    /// no '/' or '\'. Every method taking a run id throws <see cref="ArgumentException"/> for one
    /// that fails; gRPC handlers call this first to answer INVALID_ARGUMENT with <paramref name="error"/>.
    /// </summary>
    public static bool IsValidRunId(string? runId, [NotNullWhen(false)] out string? error) =>
        RunFileName.IsValidRunId(runId, out error);

    /// <summary>Stores <paramref name="run"/>, replacing a stored run with the same id.</summary>
    /// <remarks>When the returned task completes the run is on disk and survives a crash or power loss.</remarks>
    /// <exception cref="ArgumentException">Invalid run id, negative start or bin width, or a run beyond the format's limits.</exception>
    public async Task SaveAsync(Run run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        ThrowIfInvalidRunId(run.RunId, nameof(run));
        if (run.StartTaiNs < 0 || run.BinWidthNs < 0)
        {
            throw new ArgumentException($"Run {run.RunId}: start_tai_ns ({run.StartTaiNs}) and bin_width_ns ({run.BinWidthNs}) must be >= 0.", nameof(run));
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        var name = new RunFileName(run.RunId, run.StartTaiNs, run.BinWidthNs, run.Origin);
        string fileName = name.Format();
        byte[] contents = RunFileFormat.Encode(run);
        var entry = new Entry(name, fileName, contents.Length) { Summary = RunFileFormat.Summarize(run) };

        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!await AtomicFile.WriteAsync(PathOf(fileName), contents, cancellationToken).ConfigureAwait(false))
            {
                Log.DirectorySyncFailed(_logger, Directory);
            }

            Entry? previous;
            lock (_sync)
            {
                _runs.TryGetValue(run.RunId, out previous);
                _runs[run.RunId] = entry;
                _totalBytes += entry.LengthBytes - (previous?.LengthBytes ?? 0);
            }

            if (previous is not null && previous.FileName != fileName)
            {
                // Same id, new start, width or origin: the old name is now stale. Should a crash
                // come first, the scan at open keeps the newer file.
                AtomicFile.TryDelete(PathOf(previous.FileName));
                SyncDirectory();
            }

            // The run is on disk: its armed marker has done its job. Not synced: a marker that survives a crash
            // next to its stored run is ignored at open.
            AtomicFile.TryDelete(ArmedPathOf(run.RunId));
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>The stored run with this id, or null when there is none or its file is corrupt.</summary>
    /// <exception cref="ArgumentException">Invalid run id.</exception>
    public async Task<Run?> TryGetAsync(string runId, CancellationToken cancellationToken)
    {
        ThrowIfInvalidRunId(runId, nameof(runId));
        ObjectDisposedException.ThrowIf(_disposed, this);
        Entry? entry;
        lock (_sync)
        {
            _runs.TryGetValue(runId, out entry);
        }

        if (entry is null)
        {
            return null;
        }

        byte[]? contents = await ReadAsync(entry, cancellationToken).ConfigureAwait(false);
        if (contents is null)
        {
            return null;
        }

        if (!RunFileFormat.TryDecode(contents, out var run, out var defect))
        {
            await QuarantineAsync(entry, defect, cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (run!.RunId != entry.Name.RunId || run.StartTaiNs != entry.Name.StartTaiNs
            || run.BinWidthNs != entry.Name.BinWidthNs || run.Origin != entry.Name.Origin)
        {
            await QuarantineAsync(entry, RunFileDefect.Undecodable, cancellationToken).ConfigureAwait(false);
            return null;
        }

        return run;
    }

    /// <summary>Summaries of stored runs, newest start first, without their series.</summary>
    /// <param name="fromTaiNs">Runs starting at or after this TAI instant, ns; 0 = no lower bound.</param>
    /// <param name="toTaiNs">Runs starting before this TAI instant, ns; 0 = no upper bound.</param>
    /// <param name="binWidthNs">Only runs with this bin width, ns; 0 = every width.</param>
    /// <param name="limit">At most this many (at least 1).</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <remarks>Same semantics as ListRunsRequest, except that the caller maps limit 0 to its default.
    /// Only files that match and fit under the limit are read, once each; corrupt ones are skipped.</remarks>
    public async Task<IReadOnlyList<RunSummary>> ListAsync(long fromTaiNs, long toTaiNs, long binWidthNs, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromTaiNs);
        ArgumentOutOfRangeException.ThrowIfNegative(toTaiNs);
        ArgumentOutOfRangeException.ThrowIfNegative(binWidthNs);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ObjectDisposedException.ThrowIf(_disposed, this);

        List<Entry> candidates;
        lock (_sync)
        {
            candidates = _runs.Values
                .Where(e => (fromTaiNs == 0 || e.Name.StartTaiNs >= fromTaiNs)
                    && (toTaiNs == 0 || e.Name.StartTaiNs < toTaiNs)
                    && (binWidthNs == 0 || e.Name.BinWidthNs == binWidthNs))
                .ToList();
        }

        candidates.Sort(static (a, b) => b.Name.StartTaiNs != a.Name.StartTaiNs
            ? b.Name.StartTaiNs.CompareTo(a.Name.StartTaiNs)
            : string.CompareOrdinal(a.Name.RunId, b.Name.RunId));

        var summaries = new List<RunSummary>(Math.Min(limit, candidates.Count));
        foreach (var entry in candidates)
        {
            if (summaries.Count == limit)
            {
                break;
            }

            RunSummary? summary;
            lock (_sync)
            {
                summary = entry.Summary;
            }

            summary ??= await LoadSummaryAsync(entry, cancellationToken).ConfigureAwait(false);
            if (summary is not null)
            {
                summaries.Add(summary.Clone());
            }
        }

        return summaries;
    }

    /// <summary>
    /// Records durably that this run was accepted and will be recorded, before it is: a marker in <c>armed/</c> that
    /// <see cref="SaveAsync"/> removes. A marker still there at the next open is a run the agent never stored (it was
    /// killed, crashed or lost power, or the disk was full): <see cref="LeftoverArmed"/> lists it, to be recorded as lost.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid run id.</exception>
    public async Task MarkArmedAsync(RunSummary run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        ThrowIfInvalidRunId(run.RunId, nameof(run));
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!await AtomicFile.WriteAsync(ArmedPathOf(run.RunId), run.ToByteArray(), cancellationToken).ConfigureAwait(false))
        {
            Log.DirectorySyncFailed(_logger, _armedDirectory);
        }
    }

    /// <summary>
    /// Runs marked armed by an earlier process and never stored, found at open (oldest start first); the window each
    /// was accepted with. Store each (as lost), which removes its marker.
    /// </summary>
    public IReadOnlyList<RunSummary> LeftoverArmed
    {
        get
        {
            lock (_sync)
            {
                return [.. _leftoverArmed];
            }
        }
    }

    /// <summary>
    /// Keeps the run with this id from retention until <see cref="UnpinAsync"/>, whether or not it
    /// is stored yet. Survives a restart.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid run id.</exception>
    public Task PinAsync(string runId, CancellationToken cancellationToken)
    {
        ThrowIfInvalidRunId(runId, nameof(runId));
        long now = _timeProvider.GetUtcNow().ToUnixTimeSeconds();
        return ChangePinsAsync(pins =>
        {
            pins[runId] = now;
            return true;
        }, cancellationToken);
    }

    /// <summary>Lets retention delete the run again (call once a coordinator has fetched it). No-op when not pinned.</summary>
    /// <exception cref="ArgumentException">Invalid run id.</exception>
    public Task UnpinAsync(string runId, CancellationToken cancellationToken)
    {
        ThrowIfInvalidRunId(runId, nameof(runId));
        return ChangePinsAsync(pins => pins.Remove(runId), cancellationToken);
    }

    /// <summary>True when the run with this id is pinned and the pin has not lapsed.</summary>
    public bool IsPinned(string runId)
    {
        long cutoff = PinCutoffUnixSeconds();
        lock (_sync)
        {
            return _pins.TryGetValue(runId, out long at) && at > cutoff;
        }
    }

    /// <summary>Ids of the runs pinned now (pins not lapsed).</summary>
    public IReadOnlyCollection<string> PinnedRunIds()
    {
        long cutoff = PinCutoffUnixSeconds();
        lock (_sync)
        {
            return [.. _pins.Where(p => p.Value > cutoff).Select(p => p.Key)];
        }
    }

    /// <summary>Pins set at or before this unix second have lapsed.</summary>
    private long PinCutoffUnixSeconds() => _timeProvider.GetUtcNow().ToUnixTimeSeconds() - (_options.PinExpiryMinutes * 60L);

    /// <summary>
    /// Drops lapsed pins, then deletes unpinned runs that started more than RetentionDays ago, then the oldest
    /// unpinned runs until the rest fit in MaxTotalBytes; also empties quarantine of files older than
    /// RetentionDays. "Now" comes from the injected <see cref="TimeProvider"/>.
    /// </summary>
    public async Task<RetentionResult> EnforceRetentionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long cutoff = PinCutoffUnixSeconds();
        int lapsed = 0;
        await ChangePinsAsync(pins =>
        {
            lapsed = 0;
            foreach (var id in pins.Where(p => p.Value <= cutoff).Select(p => p.Key).ToList())
            {
                pins.Remove(id);
                lapsed++;
            }

            return lapsed > 0;
        }, cancellationToken).ConfigureAwait(false);
        if (lapsed > 0)
        {
            Log.PinsLapsed(_logger, lapsed, _options.PinExpiryMinutes);
        }

        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _timeProvider.GetUtcNow();
            long nowUnixNs = TimeNs.FromUnix(now);
            List<RetentionCandidate> candidates;
            lock (_sync)
            {
                candidates = _runs.Values
                    .Select(e => new RetentionCandidate(e.Name.RunId, e.Name.StartTaiNs, e.LengthBytes, _pins.ContainsKey(e.Name.RunId)))
                    .ToList();
            }

            var plan = RetentionPolicy.Plan(candidates, nowUnixNs, _options.RetentionDays, _options.MaxTotalBytes);
            int deletedByAge = DeleteRuns(plan.ExpiredByAge, out long freedByAge);
            int deletedBySize = DeleteRuns(plan.EvictedBySize, out long freedBySize);
            ExpireQuarantine(now - TimeSpan.FromDays(_options.RetentionDays));
            if (deletedByAge + deletedBySize > 0)
            {
                SyncDirectory();
            }

            int remainingRuns;
            long remainingBytes;
            lock (_sync)
            {
                remainingRuns = _runs.Count;
                remainingBytes = _totalBytes;
            }

            var result = new RetentionResult(deletedByAge, deletedBySize, freedByAge + freedBySize, plan.PinnedKept, remainingRuns, remainingBytes);
            if (deletedByAge + deletedBySize > 0)
            {
                Log.RetentionDeleted(_logger, result.DeletedByAge, result.DeletedBySize, result.FreedBytes, result.RemainingRuns, result.RemainingBytes, result.PinnedKept);
            }

            if (remainingBytes > _options.MaxTotalBytes)
            {
                Log.PinnedRunsExceedBudget(_logger, remainingBytes, _options.MaxTotalBytes);
            }

            return result;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Releases the directory lock; the store is unusable afterwards.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _directoryLock.Dispose();
    }

    private static void ThrowIfInvalidRunId(string? runId, string paramName)
    {
        if (!RunFileName.IsValidRunId(runId, out string? error))
        {
            throw new ArgumentException(error, paramName);
        }
    }

    private static FileStream AcquireDirectoryLock(string directory)
    {
        string path = Path.Combine(directory, LockFileName);
        FileStream stream;
        try
        {
            // FileShare.None takes an exclusive flock(2) on Unix; the kernel drops it when the
            // process dies, so a killed agent never leaves the directory locked.
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new IOException($"Run store directory {directory} is in use by another process or store instance ({path} is locked).", e);
        }

        stream.SetLength(0);
        stream.Write(Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n"));
        stream.Flush();
        return stream;
    }

    private Dictionary<string, long> LoadPins()
    {
        var pins = new Dictionary<string, long>(StringComparer.Ordinal);
        // A pin written before pins carried their time counts from now.
        long now = _timeProvider.GetUtcNow().ToUnixTimeSeconds();
        string path = PathOf(PinsFileName);
        if (!File.Exists(path))
        {
            return pins;
        }

        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            int space = line.IndexOf(' ', StringComparison.Ordinal);
            string escaped = space < 0 ? line : line[..space];
            long at = now;
            bool timeOk = space < 0 || long.TryParse(line.AsSpan(space + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out at);
            if (timeOk && RunFileName.TryUnescape(escaped, out string? runId))
            {
                pins[runId] = Math.Min(at, now);
            }
            else
            {
                Log.UnreadablePin(_logger, path, lineNumber);
            }
        }

        return pins;
    }

    /// <summary>Reads <c>armed/</c>: markers of runs that are stored are stale (a crash right after the save) and removed.</summary>
    private void LoadArmed()
    {
        foreach (string path in System.IO.Directory.EnumerateFiles(_armedDirectory))
        {
            string fileName = Path.GetFileName(path);
            if (fileName.EndsWith(AtomicFile.TempExtension, StringComparison.Ordinal))
            {
                File.Delete(path);
                continue;
            }

            RunSummary? summary = null;
            try
            {
                summary = RunSummary.Parser.ParseFrom(File.ReadAllBytes(path));
            }
            catch (InvalidProtocolBufferException)
            {
            }

            if (summary is null || !RunFileName.TryUnescape(fileName, out string? runId) || summary.RunId != runId
                || !RunFileName.IsValidRunId(runId, out _))
            {
                Log.UnreadableArmedMarker(_logger, path);
                AtomicFile.TryDelete(path);
                continue;
            }

            if (_runs.ContainsKey(runId))
            {
                AtomicFile.TryDelete(path);
                continue;
            }

            _leftoverArmed.Add(summary);
        }

        _leftoverArmed.Sort(static (a, b) => a.StartTaiNs.CompareTo(b.StartTaiNs));
    }

    private void ScanDirectory()
    {
        int tempFiles = 0;
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory))
        {
            string fileName = Path.GetFileName(path);
            if (fileName.EndsWith(AtomicFile.TempExtension, StringComparison.Ordinal))
            {
                File.Delete(path);
                tempFiles++;
                continue;
            }

            if (!fileName.EndsWith(RunFileName.Extension, StringComparison.Ordinal))
            {
                continue;
            }

            if (!RunFileName.TryParse(fileName, out var name))
            {
                string? quarantined = MoveToQuarantine(fileName);
                Log.UnrecognizedRunFile(_logger, fileName, quarantined ?? "(not moved)");
                continue;
            }

            var entry = new Entry(name, fileName, new FileInfo(path).Length);
            if (_runs.TryGetValue(name.RunId, out var other))
            {
                // Only a crash between writing a re-saved run under a new name and deleting the old
                // one leaves two files for one id; the later write wins.
                bool newer = File.GetLastWriteTimeUtc(path) > File.GetLastWriteTimeUtc(PathOf(other.FileName));
                var (kept, dropped) = newer ? (entry, other) : (other, entry);
                File.Delete(PathOf(dropped.FileName));
                Log.DuplicateRunFile(_logger, name.RunId, kept.FileName, dropped.FileName);
                _totalBytes -= other.LengthBytes;
                entry = kept;
            }

            _runs[name.RunId] = entry;
            _totalBytes += entry.LengthBytes;
        }

        if (tempFiles > 0)
        {
            Log.TempFilesRemoved(_logger, tempFiles, Directory);
            SyncDirectory();
        }
    }

    private async Task ChangePinsAsync(Func<Dictionary<string, long>, bool> change, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Dictionary<string, long> pins;
            lock (_sync)
            {
                pins = new Dictionary<string, long>(_pins, StringComparer.Ordinal);
            }

            if (!change(pins))
            {
                return;
            }

            var text = new StringBuilder(PinsHeader).Append('\n');
            foreach (var (runId, at) in pins.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                text.Append(RunFileName.Escape(runId)).Append(' ').Append(at.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
            }

            if (!await AtomicFile.WriteAsync(PathOf(PinsFileName), Encoding.ASCII.GetBytes(text.ToString()), cancellationToken).ConfigureAwait(false))
            {
                Log.DirectorySyncFailed(_logger, Directory);
            }

            lock (_sync)
            {
                _pins = pins;
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private async Task<RunSummary?> LoadSummaryAsync(Entry entry, CancellationToken cancellationToken)
    {
        byte[]? contents = await ReadAsync(entry, cancellationToken).ConfigureAwait(false);
        if (contents is null)
        {
            return null;
        }

        if (!RunFileFormat.TryReadSummary(contents, out var summary, out var defect))
        {
            await QuarantineAsync(entry, defect, cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (summary!.RunId != entry.Name.RunId || summary.StartTaiNs != entry.Name.StartTaiNs
            || summary.BinWidthNs != entry.Name.BinWidthNs || summary.Origin != entry.Name.Origin)
        {
            await QuarantineAsync(entry, RunFileDefect.Undecodable, cancellationToken).ConfigureAwait(false);
            return null;
        }

        lock (_sync)
        {
            entry.Summary = summary;
        }

        return summary;
    }

    /// <summary>The file's bytes; null when retention or a re-save removed it since it was looked up.</summary>
    private async Task<byte[]?> ReadAsync(Entry entry, CancellationToken cancellationToken)
    {
        try
        {
            var stream = new FileStream(PathOf(entry.FileName), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                long length = stream.Length;
                if (length > MaxFileBytes)
                {
                    await QuarantineAsync(entry, RunFileDefect.LengthMismatch, cancellationToken).ConfigureAwait(false);
                    return null;
                }

                var contents = new byte[length];
                await stream.ReadExactlyAsync(contents, cancellationToken).ConfigureAwait(false);
                return contents;
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private async Task QuarantineAsync(Entry entry, RunFileDefect defect, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_sync)
            {
                // Saves replace entries under the write gate, so the same entry means the same file:
                // nobody rewrote it since it was read.
                if (!_runs.TryGetValue(entry.Name.RunId, out var current) || !ReferenceEquals(current, entry))
                {
                    return;
                }

                _runs.Remove(entry.Name.RunId);
                _totalBytes -= entry.LengthBytes;
            }

            string? quarantined = MoveToQuarantine(entry.FileName);
            Log.CorruptRunFile(_logger, entry.FileName, defect, quarantined ?? "(not moved)");
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Moves a file into quarantine/, replacing an earlier copy; null when that failed.</summary>
    private string? MoveToQuarantine(string fileName)
    {
        string destination = Path.Combine(_quarantineDirectory, fileName);
        try
        {
            File.Move(PathOf(fileName), destination, overwrite: true);
            SyncDirectory();
            return destination;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.QuarantineFailed(_logger, fileName, e);
            return null;
        }
    }

    private int DeleteRuns(IReadOnlyList<RetentionCandidate> runs, out long freedBytes)
    {
        int deleted = 0;
        freedBytes = 0;
        foreach (var run in runs)
        {
            Entry? entry;
            lock (_sync)
            {
                _runs.TryGetValue(run.RunId, out entry);
            }

            if (entry is null)
            {
                continue;
            }

            try
            {
                File.Delete(PathOf(entry.FileName));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.DeleteFailed(_logger, entry.FileName, e);
                continue;
            }

            lock (_sync)
            {
                _runs.Remove(run.RunId);
                _totalBytes -= entry.LengthBytes;
            }

            deleted++;
            freedBytes += entry.LengthBytes;
        }

        return deleted;
    }

    private void ExpireQuarantine(DateTimeOffset cutoff)
    {
        foreach (string path in System.IO.Directory.EnumerateFiles(_quarantineDirectory))
        {
            if (File.GetLastWriteTimeUtc(path) < cutoff.UtcDateTime)
            {
                AtomicFile.TryDelete(path);
            }
        }
    }

    private void SyncDirectory()
    {
        if (!AtomicFile.SyncDirectory(Directory))
        {
            Log.DirectorySyncFailed(_logger, Directory);
        }
    }

    private string PathOf(string fileName) => Path.Combine(Directory, fileName);

    private string ArmedPathOf(string runId) => Path.Combine(_armedDirectory, RunFileName.Escape(runId));

    private sealed class Entry(RunFileName name, string fileName, long lengthBytes)
    {
        public RunFileName Name { get; } = name;

        public string FileName { get; } = fileName;

        public long LengthBytes { get; } = lengthBytes;

        /// <summary>Cached after a save or the first verified read; guarded by _sync.</summary>
        public RunSummary? Summary { get; set; }
    }
}
