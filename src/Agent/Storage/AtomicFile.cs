using Millisampler.Agent.Bpf.Native;

namespace Millisampler.Agent.Storage;

/// <summary>
/// Replaces a file so that a crash at any instant leaves either the old file or the new one, never
/// a torn one: write a temp file in the same directory, fsync it, rename it over the target, fsync
/// the directory so the rename itself survives a power loss.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Extension of temp files; any left in the store directory are a crash's leftovers.</summary>
    public const string TempExtension = ".tmp";

    /// <summary>Writes <paramref name="contents"/> to <paramref name="path"/> atomically.</summary>
    /// <remarks>Cancellation is honoured until the rename; after it the new file is in place.</remarks>
    /// <returns>False when the directory could not be fsynced (see <see cref="SyncDirectory"/>).</returns>
    public static async Task<bool> WriteAsync(string path, ReadOnlyMemory<byte> contents, CancellationToken cancellationToken)
    {
        string directory = Path.GetDirectoryName(path)!;
        // Not derived from the target name: run ids may already use most of the 255-byte name limit.
        string tempPath = Path.Combine(directory, "~" + Guid.NewGuid().ToString("N") + TempExtension);
        try
        {
            var stream = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(contents, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            cancellationToken.ThrowIfCancellationRequested();
            File.Move(tempPath, path, overwrite: true);
        }
        catch
        {
            TryDelete(tempPath);
            throw;
        }

        return SyncDirectory(directory);
    }

    /// <summary>
    /// fsyncs a directory so renames and deletions in it are durable. Linux only (open(2) with
    /// O_RDONLY works on a directory; O_DIRECTORY is left out because its value differs between
    /// x86-64 and arm64); a no-op elsewhere.
    /// </summary>
    /// <returns>False when the directory could not be synced; the caller logs it, the data is still written.</returns>
    public static bool SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        // O_CLOEXEC is 02000000 on every Linux architecture .NET runs on.
        int fd = Libc.Open(directory, Libc.OpenReadOnly | Libc.OpenCloseOnExec);
        if (fd < 0)
        {
            return false;
        }

        try
        {
            return Libc.Fsync(fd) == 0;
        }
        finally
        {
            _ = Libc.Close(fd);
        }
    }

    /// <summary>Deletes a file on a clean-up path, where a failure must not hide the error being handled.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
