using System.IO.Compression;
using System.Text;
using Millisampler.Analysis.Datasets;

namespace Millisampler.Analysis.Tests.Datasets;

/// <summary>Files built to hurt the reader: a gzip bomb, an endless series, a huge plain file.</summary>
public sealed class HostileFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ms-hostile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Read_GzipBomb2MBTo2GB_FailsFastWithBoundedMemory()
    {
        // 32 gzip members of 64 MiB of '[' each: about 2 MB on disk, 2 GiB inflated.
        string path = Path.Combine(_dir, "rackId_r1_hostId_bomb.txt.gz");
        byte[] member;
        using (var one = new MemoryStream())
        {
            using (var gz = new GZipStream(one, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                byte[] chunk = new byte[1 << 20];
                chunk.AsSpan().Fill((byte)'[');
                for (int i = 0; i < 64; i++)
                {
                    gz.Write(chunk);
                }
            }

            member = one.ToArray();
        }

        using (var file = File.Create(path))
        {
            for (int i = 0; i < 32; i++)
            {
                file.Write(member);
            }
        }

        Assert.InRange(new FileInfo(path).Length, 1, 4L << 20);
        // This thread's allocations only: other test classes run in parallel in the same process.
        long before = GC.GetAllocatedBytesForCurrentThread();

        var e = Assert.Throws<DatasetFormatException>(() => MetaDataset.Read(path));

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("inflates to more than", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        // The limit is 128 MiB; growing the buffer to it allocates about twice that, never the 2 GiB of the bomb.
        Assert.InRange(allocated, 0, 3 * MetaDataset.MaxHostFileBytes);
    }

    [Fact]
    public void Read_SeriesLongerThanTheLimit_ClearError()
    {
        string path = Path.Combine(_dir, "rackId_r1_hostId_long.json");
        var json = new StringBuilder("""{"samplingIntervalMs":1,"ingressBytes":[""");
        json.Insert(json.Length, "0,", MetaDataset.MaxSeriesLength);
        json.Append("0]}");
        File.WriteAllText(path, json.ToString());

        var e = Assert.Throws<DatasetFormatException>(() => MetaDataset.Read(path));

        Assert.Contains("'ingressBytes' has more than 1,000,000 values", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_PlainFileOverTheLimit_RefusedBeforeReading()
    {
        string path = Path.Combine(_dir, "rackId_r1_hostId_huge.json");
        using (var f = File.Create(path))
        {
            f.SetLength(MetaDataset.MaxHostFileBytes + 1);
        }

        // This thread's allocations only: the process-wide count includes whatever other tests allocate meanwhile (the
        // full suite once saw 2.4 MB from them). Read runs synchronously on this thread.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DatasetFormatException>(() => MetaDataset.Read(path));

        Assert.Contains("a host file may hold at most", e.Message, StringComparison.Ordinal);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 1 << 20);
    }
}
