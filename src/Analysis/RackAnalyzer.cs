using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Millisampler.Analysis;

/// <summary>
/// Finds bursts, contention and synchronized events in a rack capture. Pure: no I/O, no clock, no shared state.
/// Definitions and the reasons for the defaults: docs/analysis.md.
/// </summary>
public static class RackAnalyzer
{
    /// <summary>
    /// Analyses a rack capture. The result does not depend on the order of <paramref name="hosts"/>: hosts are
    /// processed in ordinal order of their names.
    /// </summary>
    /// <param name="hosts">Every host's series; all series have the same number of bins.</param>
    /// <param name="binWidthNs">Bin width, ns; positive.</param>
    /// <param name="options">θ and k.</param>
    /// <exception cref="ArgumentException">A host has no link speed, a duplicate or empty name, or series of the wrong length.</exception>
    public static RackAnalysis Analyze(IReadOnlyList<HostSeries> hosts, long binWidthNs, AnalysisOptions options)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(binWidthNs);
        options.Validate();

        HostSeries[] sorted = SortAndValidate(hosts);
        int bins = sorted.Length == 0 ? 0 : sorted[0].IngressBytes.Length;
        double theta = options.BurstThreshold;

        // Hosts are scanned in parallel parts, each with its own scratch (pooled); the parts are summed after.
        int parts = PartCount(options.MaxParallelism, sorted.Length, bins);
        var scans = new HostScan[parts];
        int[] lastEventOfHost = ArrayPool<int>.Shared.Rent(sorted.Length);
        try
        {
            for (int p = 0; p < parts; p++)
            {
                scans[p] = new HostScan(bins);
            }

            if (parts == 1)
            {
                scans[0].Scan(sorted, 0, sorted.Length, binWidthNs, theta);
            }
            else
            {
                Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
                    scans[p].Scan(sorted, sorted.Length * p / parts, sorted.Length * (p + 1) / parts, binWidthNs, theta));
            }

            int[] diff = scans[0].Diff;
            ulong[] rackBytes = scans[0].RackBytes;
            BurstBuffer bursts = scans[0].Bursts;
            for (int p = 1; p < parts; p++)
            {
                Add(diff, scans[p].Diff, bins + 1);
                Add(rackBytes, scans[p].RackBytes, bins);
                bursts.AddRange(scans[p].Bursts.Span);
            }

            int maxCovered = 0;
            double rackCapacity = 0;
            foreach (HostSeries s in sorted)
            {
                rackCapacity += s.LinkSpeedBitsPerSecond;
                maxCovered = Math.Max(maxCovered, s.BinsCovered);
            }

            int[] contention = new int[bins];
            int running = 0;
            for (int b = 0; b < bins; b++)
            {
                running += diff[b];
                contention[b] = running;
            }

            // Stable order for callers: start bin, then host name (host indices follow name order).
            bursts.SortByStartThenHost(sorted.Length, bins);

            var burstInfos = new BurstInfo[bursts.Count];
            ForEachRange(parts, bursts.Count, (_, from, to) =>
            {
                ReadOnlySpan<BurstAccumulator> span = bursts.Span;
                for (int i = from; i < to; i++)
                {
                    ref readonly BurstAccumulator a = ref span[i];
                    int max = 0;
                    long sum = 0;
                    for (int b = a.Start; b < a.Start + a.Length; b++)
                    {
                        int others = contention[b] - 1;
                        sum += others;
                        if (others > max)
                        {
                            max = others;
                        }
                    }

                    burstInfos[i] = new BurstInfo(sorted[a.Host].Host, a.Start, a.Length, a.Bytes, a.PeakUtilization,
                        a.CeBytes, a.RetransmitBytes, a.PeakConnections, max, (double)sum / a.Length);
                }
            });

            ContentionLevelInfo[] levels = BuildLevels(contention, maxCovered, burstInfos);
            SyncEventInfo[] events = BuildEvents(sorted, bursts, contention, rackBytes, binWidthNs,
                options.EventMinHosts, rackCapacity, lastEventOfHost, parts);

            var untrusted = new List<string>();
            foreach (HostSeries s in sorted)
            {
                if (!HostAdmission.AlignmentTrusted(s.ClockErrorNs, binWidthNs))
                {
                    untrusted.Add(s.Host);
                }
            }

            return new RackAnalysis(theta, options.EventMinHosts, bins, binWidthNs, burstInfos, contention,
                levels, events, untrusted);
        }
        finally
        {
            foreach (HostScan? scan in scans)
            {
                scan?.Dispose();
            }

            ArrayPool<int>.Shared.Return(lastEventOfHost);
        }
    }

    /// <summary>Below this many host-bins one thread is faster than starting more (92 × 20,000 measured slower on two).</summary>
    private const long ParallelMinHostBins = 1 << 21;

    private static int PartCount(int maxParallelism, int hosts, int bins)
    {
        int limit = maxParallelism == 0 ? Environment.ProcessorCount : maxParallelism;
        if ((long)hosts * bins < ParallelMinHostBins)
        {
            return 1;
        }

        return Math.Max(1, Math.Min(limit, hosts));
    }

    /// <summary>
    /// Runs <paramref name="body"/>(part, from, to) over [0, count) in <paramref name="parts"/> contiguous ranges,
    /// in parallel when more than one.
    /// </summary>
    private static void ForEachRange(int parts, int count, Action<int, int, int> body)
    {
        if (parts <= 1 || count < parts)
        {
            body(0, 0, count);
            return;
        }

        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts },
            p => body(p, (int)((long)count * p / parts), (int)((long)count * (p + 1) / parts)));
    }

    private static void Add(int[] into, int[] from, int length)
    {
        for (int i = 0; i < length; i++)
        {
            into[i] += from[i];
        }
    }

    private static void Add(ulong[] into, ulong[] from, int length)
    {
        for (int i = 0; i < length; i++)
        {
            into[i] += from[i];
        }
    }

    private static HostSeries[] SortAndValidate(IReadOnlyList<HostSeries> hosts)
    {
        var sorted = new HostSeries[hosts.Count];
        for (int i = 0; i < sorted.Length; i++)
        {
            sorted[i] = hosts[i] ?? throw new ArgumentException($"hosts[{i}] is null.", nameof(hosts));
        }

        Array.Sort(sorted, static (x, y) => string.CompareOrdinal(x.Host, y.Host));
        int bins = sorted.Length == 0 ? 0 : sorted[0].IngressBytes?.Length ?? 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            HostSeries s = sorted[i];
            if (string.IsNullOrEmpty(s.Host))
            {
                throw new ArgumentException("A host has an empty name.", nameof(hosts));
            }

            if (i > 0 && string.Equals(sorted[i - 1].Host, s.Host, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Host '{s.Host}' appears twice.", nameof(hosts));
            }

            if (!(s.LinkSpeedBitsPerSecond > 0) || double.IsInfinity(s.LinkSpeedBitsPerSecond))
            {
                throw new ArgumentException(
                    $"Host '{s.Host}' has no usable link speed ({s.LinkSpeedBitsPerSecond} bits/s); " +
                    "utilization needs one, so supply the speed (e.g. --link-speed).", nameof(hosts));
            }

            CheckLength(s, s.IngressBytes?.Length, nameof(HostSeries.IngressBytes), bins);
            CheckLength(s, s.IngressCeBytes?.Length, nameof(HostSeries.IngressCeBytes), bins);
            CheckLength(s, s.IngressRetransmitBytes?.Length, nameof(HostSeries.IngressRetransmitBytes), bins);
            CheckLength(s, s.IngressConnections?.Length, nameof(HostSeries.IngressConnections), bins);
            if (s.BinsCovered < 0 || s.BinsCovered > bins)
            {
                throw new ArgumentException(
                    $"Host '{s.Host}' covers {s.BinsCovered} bins; allowed 0..{bins}.", nameof(hosts));
            }
        }

        return sorted;
    }

    private static void CheckLength(HostSeries s, int? length, string field, int bins)
    {
        if (length != bins)
        {
            throw new ArgumentException(
                $"Host '{s.Host}' {field} has {(length is null ? "no array" : length + " bins")}; " +
                $"every series of the capture must have {bins}.", "hosts");
        }
    }

    /// <summary>
    /// One part of the host scan: finds each host's bursts (runs of bins at utilization ≥ θ) and adds its bytes
    /// to the rack's per-bin sum. Bins are taken in chunks across all of the part's hosts, so the per-bin scratch
    /// of a chunk stays in cache while every host passes over it; a host's open burst carries over the chunk edge.
    /// </summary>
    private sealed class HostScan : IDisposable
    {
        private const int ChunkBins = 4096;

        public HostScan(int bins)
        {
            Diff = ArrayPool<int>.Shared.Rent(bins + 1);
            RackBytes = ArrayPool<ulong>.Shared.Rent(bins);
            Array.Clear(Diff, 0, bins + 1);
            Array.Clear(RackBytes, 0, bins);
        }

        /// <summary>+1 where a burst starts, −1 where it ends; its running sum is the contention.</summary>
        public int[] Diff { get; }

        /// <summary>Bytes of the part's hosts per bin.</summary>
        public ulong[] RackBytes { get; }

        public BurstBuffer Bursts { get; } = new();

        public void Scan(HostSeries[] sorted, int first, int end, long binWidthNs, double theta)
        {
            int count = end - first;
            if (count <= 0)
            {
                return;
            }

            var open = new BurstAccumulator[count];
            var inBurst = new bool[count];
            var cut = new ulong[count];
            var capacityBits = new double[count];
            int longest = 0;
            for (int i = 0; i < count; i++)
            {
                HostSeries s = sorted[first + i];

                // Bits the link can carry in one bin; C·binWidthNs is exact for round speeds and widths.
                capacityBits[i] = s.LinkSpeedBitsPerSecond * binWidthNs / 1e9;

                // Bins of at most `cut` bytes are below θ beyond any rounding (a relative margin of 1e-9, where
                // double rounding is 1e-16), so only bins above it pay for the exact utilization.
                double below = Math.Floor(theta * capacityBits[i] / 8 * (1 - 1e-9));
                cut[i] = below >= ulong.MaxValue ? ulong.MaxValue : (ulong)below;
                longest = Math.Max(longest, s.BinsCovered);
            }

            // Bins at or past a host's BinsCovered are missing: never part of a burst, never counted.
            for (int c0 = 0; c0 < longest; c0 += ChunkBins)
            {
                for (int i = 0; i < count; i++)
                {
                    HostSeries s = sorted[first + i];
                    int c1 = Math.Min(c0 + ChunkBins, s.BinsCovered);
                    if (c1 > c0)
                    {
                        ScanBins(s, first + i, c0, c1, cut[i], capacityBits[i], theta, ref open[i], ref inBurst[i]);
                    }
                }
            }

            for (int i = 0; i < count; i++)
            {
                if (inBurst[i])
                {
                    Close(ref open[i]);
                }
            }
        }

        private void ScanBins(HostSeries s, int hostIndex, int from, int to, ulong cut, double capacityBits, double theta,
            ref BurstAccumulator current, ref bool inBurst)
        {
            ulong[] bytes = s.IngressBytes;
            ulong[] rackBytes = RackBytes;
            int b = from;
            while (b < to)
            {
                // Outside a burst, most bins are at or below the cut: add them to the rack a vector at a time and look
                // at bins one by one only where a vector holds one above it (or a burst is open).
                if (!inBurst)
                {
                    b = AddBelowCut(bytes, rackBytes, b, to, cut);
                    if (b >= to)
                    {
                        break;
                    }
                }

                ulong v = bytes[b];
                rackBytes[b] += v;
                double u;
                if (v > cut && (u = 8.0 * v / capacityBits) >= theta)
                {
                    if (!inBurst)
                    {
                        inBurst = true;
                        current = new BurstAccumulator { Host = hostIndex, Start = b };
                    }

                    current.Length++;
                    current.Bytes += v;
                    current.CeBytes += s.IngressCeBytes[b];
                    current.RetransmitBytes += s.IngressRetransmitBytes[b];
                    current.PeakUtilization = Math.Max(current.PeakUtilization, u);
                    current.PeakConnections = Math.Max(current.PeakConnections, s.IngressConnections[b]);
                }
                else if (inBurst)
                {
                    Close(ref current);
                    inBurst = false;
                }

                b++;
            }
        }

        /// <summary>
        /// Adds bins [<paramref name="from"/>, ...) to the rack's bytes while whole vectors of them are at or below
        /// <paramref name="cut"/>; returns the first bin not added: the start of a vector holding a bin above the cut,
        /// or of the tail too short for a vector, or <paramref name="to"/>.
        /// </summary>
        private static int AddBelowCut(ulong[] bytes, ulong[] rackBytes, int from, int to, ulong cut)
        {
            int width = Vector<ulong>.Count;
            if (!Vector.IsHardwareAccelerated || to - from < width)
            {
                return from;
            }

            var cuts = new Vector<ulong>(cut);
            ref ulong src = ref MemoryMarshal.GetArrayDataReference(bytes);
            ref ulong dst = ref MemoryMarshal.GetArrayDataReference(rackBytes);
            int b = from;
            for (; b <= to - width; b += width)
            {
                var v = Vector.LoadUnsafe(ref src, (nuint)b);
                if (Vector.GreaterThanAny(v, cuts))
                {
                    return b;
                }

                (Vector.LoadUnsafe(ref dst, (nuint)b) + v).StoreUnsafe(ref dst, (nuint)b);
            }

            return b;
        }

        private void Close(ref BurstAccumulator burst)
        {
            Bursts.Add(burst);
            Diff[burst.Start]++;
            Diff[burst.Start + burst.Length]--;
        }

        public void Dispose()
        {
            Bursts.Dispose();
            ArrayPool<int>.Shared.Return(Diff);
            ArrayPool<ulong>.Shared.Return(RackBytes);
        }
    }

    private static ContentionLevelInfo[] BuildLevels(int[] contention, int maxCovered, BurstInfo[] bursts)
    {
        int maxLevel = 0;
        foreach (int c in contention)
        {
            maxLevel = Math.Max(maxLevel, c);
        }

        var bins = new int[maxLevel + 1];
        var count = new int[maxLevel + 1];
        var withCe = new int[maxLevel + 1];
        var withRetransmits = new int[maxLevel + 1];

        // A bin no host covered has no contention to report; it stays out of the distribution.
        for (int b = 0; b < maxCovered; b++)
        {
            bins[contention[b]]++;
        }

        foreach (BurstInfo burst in bursts)
        {
            int level = burst.MaxContention;
            count[level]++;
            if (burst.CeBytes > 0)
            {
                withCe[level]++;
            }

            if (burst.RetransmitBytes > 0)
            {
                withRetransmits[level]++;
            }
        }

        var levels = new ContentionLevelInfo[maxLevel + 1];
        for (int level = 0; level <= maxLevel; level++)
        {
            int n = count[level];
            levels[level] = new ContentionLevelInfo(level, bins[level], n, withCe[level], withRetransmits[level],
                n == 0 ? 0 : (double)withCe[level] / n, n == 0 ? 0 : (double)withRetransmits[level] / n);
        }

        return levels;
    }

    private static SyncEventInfo[] BuildEvents(HostSeries[] sorted, BurstBuffer bursts, int[] contention,
        ulong[] rackBytes, long binWidthNs, int k, double rackCapacity, int[] lastEventOfHost, int parts)
    {
        // Runs of c[b] >= k.
        var starts = new List<int>();
        var ends = new List<int>();
        for (int b = 0; b < contention.Length; b++)
        {
            if (contention[b] >= k && (b == 0 || contention[b - 1] < k))
            {
                starts.Add(b);
            }

            if (contention[b] >= k && (b + 1 == contention.Length || contention[b + 1] < k))
            {
                ends.Add(b + 1);
            }
        }

        if (starts.Count == 0)
        {
            return [];
        }

        // Hosts per event: each burst marks the events it overlaps. Bursts are sorted by start, so one host's
        // bursts arrive in order and mark events in non-decreasing order: the last mark is enough to dedupe.
        var hostsOfEvent = new List<int>[starts.Count];
        for (int j = 0; j < hostsOfEvent.Length; j++)
        {
            hostsOfEvent[j] = [];
        }

        Array.Fill(lastEventOfHost, -1, 0, sorted.Length);
        int[] eventsOfHostCount = new int[sorted.Length + 1];
        int marks = 0;
        int firstEvent = 0;
        foreach (ref readonly BurstAccumulator burst in bursts.Span)
        {
            // Bursts come in start order, so the first event ending after a burst's start only moves forward.
            while (firstEvent < ends.Count && ends[firstEvent] <= burst.Start)
            {
                firstEvent++;
            }

            int burstEnd = burst.Start + burst.Length;
            for (int j = firstEvent; j < starts.Count && starts[j] < burstEnd; j++)
            {
                if (lastEventOfHost[burst.Host] != j)
                {
                    lastEventOfHost[burst.Host] = j;
                    hostsOfEvent[j].Add(burst.Host);
                    eventsOfHostCount[burst.Host + 1]++;
                    marks++;
                }
            }
        }

        // The same membership by host, each host's events in ascending order, so that summing a host's bins over its
        // events reads its series front to back (by event, every member's series in turn, it missed the cache).
        for (int h = 0; h < sorted.Length; h++)
        {
            eventsOfHostCount[h + 1] += eventsOfHostCount[h];
        }

        int[] eventsOfHost = new int[marks];
        int[] fill = (int[])eventsOfHostCount.Clone();
        for (int j = 0; j < starts.Count; j++)
        {
            hostsOfEvent[j].Sort();
            foreach (int h in hostsOfEvent[j])
            {
                eventsOfHost[fill[h]++] = j;
            }
        }

        // Each event's bytes, CE and retransmitted bytes over its member hosts and bins. Hosts are split into
        // contiguous ranges; each range sums into its own totals (integer sums, so the order of addition does not
        // change the result).
        var totals = new ulong[parts, starts.Count, 3];
        ForEachRange(parts, sorted.Length, (part, from, to) =>
        {
            for (int h = from; h < to; h++)
            {
                HostSeries s = sorted[h];
                for (int m = eventsOfHostCount[h]; m < eventsOfHostCount[h + 1]; m++)
                {
                    int j = eventsOfHost[m];
                    int last = Math.Min(ends[j], s.BinsCovered);
                    ulong bytes = 0, ce = 0, retransmit = 0;
                    for (int b = starts[j]; b < last; b++)
                    {
                        bytes += s.IngressBytes[b];
                        ce += s.IngressCeBytes[b];
                        retransmit += s.IngressRetransmitBytes[b];
                    }

                    totals[part, j, 0] += bytes;
                    totals[part, j, 1] += ce;
                    totals[part, j, 2] += retransmit;
                }
            }
        });

        double bitsPerSecondPerByte = 8e9 / binWidthNs;
        var events = new SyncEventInfo[starts.Count];
        for (int j = 0; j < events.Length; j++)
        {
            int start = starts[j];
            int end = ends[j];
            List<int> members = hostsOfEvent[j];
            var names = new string[members.Count];
            for (int m = 0; m < members.Count; m++)
            {
                names[m] = sorted[members[m]].Host;
            }

            ulong bytes = 0, ce = 0, retransmit = 0;
            for (int p = 0; p < parts; p++)
            {
                bytes += totals[p, j, 0];
                ce += totals[p, j, 1];
                retransmit += totals[p, j, 2];
            }

            ulong peakRackBytes = 0;
            int peakContention = 0;
            for (int b = start; b < end; b++)
            {
                peakRackBytes = Math.Max(peakRackBytes, rackBytes[b]);
                peakContention = Math.Max(peakContention, contention[b]);
            }

            events[j] = new SyncEventInfo(start, end - start, names, bytes, ce, retransmit,
                peakRackBytes * bitsPerSecondPerByte, rackCapacity, peakContention);
        }

        return events;
    }

    /// <summary>A growable list of bursts on pooled arrays: the scan's only per-burst scratch.</summary>
    private sealed class BurstBuffer : IDisposable
    {
        private BurstAccumulator[] _items = ArrayPool<BurstAccumulator>.Shared.Rent(256);

        public int Count { get; private set; }

        public Span<BurstAccumulator> Span => _items.AsSpan(0, Count);

        public void Add(in BurstAccumulator burst)
        {
            if (Count == _items.Length)
            {
                BurstAccumulator[] bigger = ArrayPool<BurstAccumulator>.Shared.Rent(_items.Length * 2);
                Span.CopyTo(bigger);
                ArrayPool<BurstAccumulator>.Shared.Return(_items);
                _items = bigger;
            }

            _items[Count++] = burst;
        }

        /// <summary>
        /// Orders the bursts by start bin, then host, in linear time: a stable counting sort by host, then one by
        /// start (a host's bursts never share a start, so the order is total).
        /// </summary>
        public void SortByStartThenHost(int hosts, int bins)
        {
            BurstAccumulator[] byHost = ArrayPool<BurstAccumulator>.Shared.Rent(Math.Max(1, Count));
            int[] offsets = ArrayPool<int>.Shared.Rent(Math.Max(hosts, bins) + 1);
            try
            {
                CountingSort(_items, byHost, Count, offsets, hosts, static (in BurstAccumulator a) => a.Host);
                CountingSort(byHost, _items, Count, offsets, bins, static (in BurstAccumulator a) => a.Start);
            }
            finally
            {
                ArrayPool<BurstAccumulator>.Shared.Return(byHost);
                ArrayPool<int>.Shared.Return(offsets);
            }
        }

        private delegate int KeyOf(in BurstAccumulator burst);

        private static void CountingSort(BurstAccumulator[] from, BurstAccumulator[] to, int count, int[] offsets, int keys, KeyOf key)
        {
            Array.Clear(offsets, 0, keys + 1);
            for (int i = 0; i < count; i++)
            {
                offsets[key(in from[i]) + 1]++;
            }

            for (int k = 0; k < keys; k++)
            {
                offsets[k + 1] += offsets[k];
            }

            for (int i = 0; i < count; i++)
            {
                to[offsets[key(in from[i])]++] = from[i];
            }
        }

        public void AddRange(ReadOnlySpan<BurstAccumulator> more)
        {
            foreach (ref readonly BurstAccumulator burst in more)
            {
                Add(burst);
            }
        }

        public void Dispose()
        {
            ArrayPool<BurstAccumulator>.Shared.Return(_items);
            _items = [];
            Count = 0;
        }
    }

    private struct BurstAccumulator
    {
        public int Host;
        public int Start;
        public int Length;
        public ulong Bytes;
        public double PeakUtilization;
        public ulong CeBytes;
        public ulong RetransmitBytes;
        public uint PeakConnections;
    }
}
