using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Millisampler.ServiceDefaults.Security;

/// <summary>
/// The current <see cref="CertificateSet"/>, read again when a file changes on disk: every read checks the files'
/// modification times and sizes at most once per <see cref="SecurityOptions.ReloadCheckInterval"/>, so a rotated
/// certificate is served on the next handshake without a restart, and a half-written rotation keeps the old set
/// (logged) until the files are whole. Connections already open keep the certificate they started with.
/// </summary>
public sealed partial class TlsCertificates
{
    private readonly SecurityOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<TlsCertificates> _logger;
    private readonly Lock _gate = new();
    private CertificateSet? _current;
    private FileStamp _stamp;
    private FileStamp _failedStamp;
    private long _lastCheck = long.MinValue;
    private int _generation;

    public TlsCertificates(IOptions<SecurityOptions> options, TimeProvider time, ILogger<TlsCertificates> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>How many sets have been loaded (1 after start, +1 per rotation).</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>
    /// The current set, loaded at the first call. Throws <see cref="CertificateLoadException"/> when nothing
    /// loadable was ever read; afterwards a bad rotation keeps the last good set.
    /// </summary>
    public CertificateSet Current
    {
        get
        {
            long now = _time.GetTimestamp();
            CertificateSet? current = Volatile.Read(ref _current);
            if (current is not null && _time.GetElapsedTime(Interlocked.Read(ref _lastCheck), now) < _options.ReloadCheckInterval)
            {
                return current;
            }

            lock (_gate)
            {
                Interlocked.Exchange(ref _lastCheck, now);
                FileStamp stamp = FileStamp.Of(_options.CertificatePath, _options.KeyPath, _options.CaPath);
                if (_current is not null && stamp == _stamp)
                {
                    return _current;
                }

                try
                {
                    CertificateSet loaded = CertificateSet.Load(_options.CertificatePath, _options.KeyPath, _options.CaPath);
                    bool rotated = _current is not null;
                    // The old set is not disposed: open connections and in-flight handshakes may still hold it.
                    Volatile.Write(ref _current, loaded);
                    _stamp = stamp;
                    Interlocked.Increment(ref _generation);
                    X509Certificate2 c = loaded.Certificate;
                    if (rotated)
                    {
                        LogRotated(_logger, CertificateIdentity.NameOf(c), c.Thumbprint, c.NotAfter);
                    }
                    else
                    {
                        LogLoaded(_logger, CertificateIdentity.NameOf(c), c.Thumbprint, c.NotAfter, string.Join(",", CertificateIdentity.RolesOf(c)));
                    }

                    return loaded;
                }
                catch (CertificateLoadException e) when (_current is not null)
                {
                    if (stamp != _failedStamp)
                    {
                        _failedStamp = stamp;
                        LogRotationFailed(_logger, e.Message);
                    }

                    return _current;
                }
            }
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "TLS certificate {Name} ({Thumbprint}, valid until {NotAfter:u}, roles {Roles}) loaded")]
    private static partial void LogLoaded(ILogger logger, string name, string thumbprint, DateTime notAfter, string roles);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "TLS certificate files changed on disk: now serving {Name} ({Thumbprint}, valid until {NotAfter:u})")]
    private static partial void LogRotated(ILogger logger, string name, string thumbprint, DateTime notAfter);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "TLS certificate files changed but cannot be loaded; still serving the previous certificate: {Reason}")]
    private static partial void LogRotationFailed(ILogger logger, string reason);

    /// <summary>Modification times and sizes of the three files (following symbolic links, as Kubernetes secret volumes use).</summary>
    private readonly record struct FileStamp(long Cert, long CertLength, long Key, long KeyLength, long Ca, long CaLength)
    {
        public static FileStamp Of(string cert, string key, string ca)
        {
            (long ct, long cl) = Read(cert);
            (long kt, long kl) = Read(key);
            (long at, long al) = Read(ca);
            return new FileStamp(ct, cl, kt, kl, at, al);
        }

        private static (long, long) Read(string path)
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target)
            {
                info = target;
            }

            return info.Exists ? (info.LastWriteTimeUtc.Ticks, info.Length) : (0, -1);
        }
    }
}
