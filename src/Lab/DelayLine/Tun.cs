using System.Text;

namespace Millisampler.Lab;

/// <summary>Creates TUN devices (layer 3, no packet-info header) with /dev/net/tun and TUNSETIFF.</summary>
internal static unsafe class Tun
{
    private const nuint TUNSETIFF = 0x400454ca; // _IOW('T', 202, int)
    private const short IFF_TUN = 0x0001;
    private const short IFF_NO_PI = 0x1000;
    private const int IfReqSize = 40; // struct ifreq on 64-bit Linux: 16-byte name + 24-byte union
    private const int IfReqFlagsOffset = 16;

    /// <summary>
    /// Opens a new TUN device named <paramref name="name"/> and returns its fd. The device lives in the
    /// namespace of the calling thread (the kernel takes it at open), so call it inside <see cref="NetNs.Run{T}"/>.
    /// The device disappears when the fd is closed.
    /// </summary>
    public static int Create(string name)
    {
        LabNames.ValidateInterface(name);
        var fd = Libc.Open("/dev/net/tun", Libc.O_RDWR | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw Libc.Error("open /dev/net/tun");
        }
        var ifr = stackalloc byte[IfReqSize];
        new Span<byte>(ifr, IfReqSize).Clear();
        Encoding.ASCII.GetBytes(name, new Span<byte>(ifr, LabNames.MaxInterfaceName));
        *(short*)(ifr + IfReqFlagsOffset) = IFF_TUN | IFF_NO_PI;
        if (Libc.Ioctl(fd, TUNSETIFF, ifr) != 0)
        {
            var e = Libc.Error($"ioctl TUNSETIFF {name}");
            Libc.Close(fd);
            throw e;
        }
        return fd;
    }
}
