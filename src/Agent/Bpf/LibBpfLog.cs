using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Millisampler.Agent.Bpf.Native;

namespace Millisampler.Agent.Bpf;

/// <summary>
/// Captures what libbpf prints (warnings, the verifier log on a failed load) so it can reach the
/// user inside an error message instead of going to stderr unannounced. libbpf's print hook is
/// process-wide, so this is a single static sink.
/// </summary>
internal static unsafe class LibBpfLog
{
    private const int WarnLevel = 0;
    private const int InfoLevel = 1;
    private static readonly object Gate = new();
    private static readonly StringBuilder Buffer = new();
    private static int _installed;

    /// <summary>Routes libbpf's output here; safe to call more than once.</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0)
        {
            LibBpf.SetPrint((nint)(delegate* unmanaged[Cdecl]<int, nint, nint, int>)&Print);
        }
    }

    /// <summary>Returns and clears what was printed since the last call.</summary>
    public static string Take()
    {
        lock (Gate)
        {
            var text = Buffer.ToString().TrimEnd();
            Buffer.Clear();
            return text;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Print(int level, nint format, nint args)
    {
        if (level != WarnLevel && level != InfoLevel)
        {
            return 0;
        }

        const int size = 8192;
        byte* text = stackalloc byte[size];
        int n = Libc.VsnPrintf(text, size, format, args);
        if (n <= 0)
        {
            return 0;
        }

        var line = Encoding.UTF8.GetString(text, Math.Min(n, size - 1));
        lock (Gate)
        {
            // Keep the tail: the verifier's last lines say why it refused.
            if (Buffer.Length > 256 * 1024)
            {
                Buffer.Remove(0, Buffer.Length - 128 * 1024);
            }

            Buffer.Append(line);
        }
        return n;
    }
}
