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
        int[] eventAfter = ArrayPool<int>.Shared.Rent(Math.Max(1, bins));
        long[] order = [];
        try
        {
            for (int p = 0; p < parts; p++)
            {
                scans[p] = new HostScan(bins);
            }

            ForEachPart(parts, p =>
                scans[p].Scan(sorted, sorted.Length * p / parts, sorted.Length * (p + 1) / parts, binWidthNs, theta));

            // The parts' per-bin sums into part 0's, in parallel bin ranges.
            int[] diff = scans[0].Diff;
            ulong[] rackBytes = scans[0].RackBytes;
            if (parts > 1)
            {
                ForEachRange(parts, bins + 1, (_, from, to) =>
                {
                    for (int p = 1; p < parts; p++)
                    {
                        Add(diff, scans[p].Diff, from, to);
                        Add(rackBytes, scans[p].RackBytes, from, Math.Min(to, bins));
                    }
                });
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
            int maxLevel = 0;
            for (int b = 0; b < bins; b++)
            {
                running += diff[b];
                contention[b] = running;
                maxLevel = Math.Max(maxLevel, running);
            }

            (int[] eventStarts, int[] eventEnds) = FindEvents(contention, options.EventMinHosts, eventAfter);

            // Where each part's bursts go in the order callers get (start bin, then host name; host indices follow name
            // order); then one pass per part over its bursts, in parallel, that notes each burst's part and index at its
            // place and marks the events it overlaps as its host's.
            int burstCount = PlaceBursts(scans, bins);
            order = ArrayPool<long>.Shared.Rent(Math.Max(1, burstCount));
            var lastEventOfHost = new int[sorted.Length];
            Array.Fill(lastEventOfHost, -1);
            long[] orderOf = order;
            ForEachPart(parts, p => scans[p].Place(p, orderOf, eventStarts, eventAfter, lastEventOfHost));

            // The results in that order, in parallel ranges (written front to back: written at their places from the
            // parts' order, they cost twice as much), with their contention statistics and the levels' counts.
            var burstInfos = new BurstInfo[burstCount];
            var levelCounts = new int[]?[parts];
            ForEachRange(parts, burstCount, (range, from, to) =>
                levelCounts[range] = BuildBursts(sorted, scans, orderOf, contention, maxLevel, burstInfos, from, to));

            ContentionLevelInfo[] levels = BuildLevels(contention, maxCovered, maxLevel, levelCounts);
            SyncEventInfo[] events = BuildEvents(sorted, scans, eventStarts, eventEnds, contention, rackBytes, binWidthNs,
                rackCapacity);

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

            ArrayPool<int>.Shared.Return(eventAfter);
            if (order.Length > 0)
            {
                ArrayPool<long>.Shared.Return(order);
            }
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

    /// <summary><paramref name="into"/>[i] += <paramref name="from"/>[i] for i in [from, to), a vector at a time.</summary>
    private static void Add<T>(T[] into, T[] from, int start, int end)
        where T : unmanaged, INumber<T>
    {
        int i = start;
        if (Vector.IsHardwareAccelerated)
        {
            ref T dst = ref MemoryMarshal.GetArrayDataReference(into);
            ref T src = ref MemoryMarshal.GetArrayDataReference(from);
            for (; i <= end - Vector<T>.Count; i += Vector<T>.Count)
            {
                (Vector.LoadUnsafe(ref dst, (nuint)i) + Vector.LoadUnsafe(ref src, (nuint)i)).StoreUnsafe(ref dst, (nuint)i);
            }
        }

        for (; i < end; i++)
        {
            into[i] += from[i];
        }
    }

    /// <summary>Runs <paramref name="body"/>(part) for every part, in parallel when more than one.</summary>
    private static void ForEachPart(int parts, Action<int> body)
    {
        if (parts == 1)
        {
            body(0);
            return;
        }

        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, body);
    }

    /// <summary>
    /// Turns every part's count of bursts starting in each bin into the index its first such burst takes in the result,
    /// ordered by start bin, then host: bin by bin, part by part (the parts hold ascending host ranges), and within a
    /// part in the order its bursts opened, which for one start bin is host order (a part takes bins in chunks, each
    /// chunk host by host). Returns the number of bursts.
    /// </summary>
    private static int PlaceBursts(HostScan[] scans, int bins)
    {
        int next = 0;
        for (int b = 0; b < bins; b++)
        {
            foreach (HostScan scan in scans)
            {
                int count = scan.Places[b];
                scan.Places[b] = next;
                next += count;
            }
        }

        return next;
    }

    /// <summary>
    /// The synchronized events' bins: the runs of c[b] ≥ k, as [start, end); and in <paramref name="eventAfter"/>[b]
    /// the first event ending after bin b (the event count when none), so that a burst finds its first event at once.
    /// </summary>
    private static (int[] Starts, int[] Ends) FindEvents(int[] contention, int k, int[] eventAfter)
    {
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

        int j = 0;
        for (int b = 0; b < contention.Length; b++)
        {
            while (j < ends.Count && ends[j] <= b)
            {
                j++;
            }

            eventAfter[b] = j;
        }

        return (starts.ToArray(), ends.ToArray());
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
            Places = ArrayPool<int>.Shared.Rent(bins);
            Array.Clear(Diff, 0, bins + 1);
            Array.Clear(RackBytes, 0, bins);
            Array.Clear(Places, 0, bins);
        }

        /// <summary>+1 where a burst starts, −1 where it ends; its running sum is the contention.</summary>
        public int[] Diff { get; }

        /// <summary>Bytes of the part's hosts per bin.</summary>
        public ulong[] RackBytes { get; }

        /// <summary>The part's bursts in the order they opened.</summary>
        public BurstBuffer Bursts { get; } = new();

        /// <summary>
        /// Per bin, the part's bursts starting in it; then (<see cref="PlaceBursts"/>) the result index of the next.
        /// </summary>
        public int[] Places { get; }

        /// <summary>(event, host) memberships of the part's hosts, each host's in ascending event order.</summary>
        public PairBuffer Pairs { get; } = new();


        public void Scan(HostSeries[] sorted, int first, int end, long binWidthNs, double theta)
        {
            int count = end - first;
            if (count <= 0)
            {
                return;
            }

            var open = new BurstAccumulator[count];
            var slot = new int[count];
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
                        ScanBins(s, first + i, c0, c1, cut[i], capacityBits[i], theta, ref open[i], ref slot[i], ref inBurst[i]);
                    }
                }
            }

            for (int i = 0; i < count; i++)
            {
                if (inBurst[i])
                {
                    Close(in open[i], slot[i]);
                }
            }
        }

        private void ScanBins(HostSeries s, int hostIndex, int from, int to, ulong cut, double capacityBits, double theta,
            ref BurstAccumulator current, ref int slot, ref bool inBurst)
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
                        slot = Bursts.Reserve();
                        Places[b]++;
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
                    Close(in current, slot);
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

        /// <summary>Stores a finished burst in the place reserved when it opened (so bursts stay in the order they opened).</summary>
        private void Close(in BurstAccumulator burst, int slot)
        {
            Bursts[slot] = burst;
            Diff[burst.Start]++;
            Diff[burst.Start + burst.Length]--;
        }

        /// <summary>
        /// The pass over the part's bursts after the scan: notes each burst's part and index at its place in
        /// <paramref name="order"/> (part in the high 32 bits), and marks the events it overlaps as its host's. A host's
        /// bursts come in start order and mark events in non-decreasing order, so its last mark is enough to dedupe.
        /// </summary>
        public void Place(int part, long[] order, int[] eventStarts, int[] eventAfter, int[] lastEventOfHost)
        {
            int[] places = Places;
            ReadOnlySpan<BurstAccumulator> bursts = Bursts.Span;
            for (int i = 0; i < bursts.Length; i++)
            {
                ref readonly BurstAccumulator a = ref bursts[i];
                order[places[a.Start]++] = ((long)part << 32) | (uint)i;

                int h = a.Host;
                int end = a.Start + a.Length;
                for (int j = eventAfter[a.Start]; j < eventStarts.Length && eventStarts[j] < end; j++)
                {
                    if (lastEventOfHost[h] != j)
                    {
                        lastEventOfHost[h] = j;
                        Pairs.Add(j, h);
                    }
                }
            }
        }

        public void Dispose()
        {
            Bursts.Dispose();
            Pairs.Dispose();
            ArrayPool<int>.Shared.Return(Diff);
            ArrayPool<ulong>.Shared.Return(RackBytes);
            ArrayPool<int>.Shared.Return(Places);
        }
    }

    /// <summary>
    /// The results [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="order"/>, each with its
    /// contention statistics; returns the range's count of bursts per level (see <see cref="BuildLevels"/>).
    /// </summary>
    private static int[] BuildBursts(HostSeries[] sorted, HostScan[] scans, long[] order, int[] contention, int maxLevel,
        BurstInfo[] into, int from, int to)
    {
        int[] counts = new int[3 * (maxLevel + 1)];
        for (int r = from; r < to; r++)
        {
            long key = order[r];
            ref readonly BurstAccumulator a = ref scans[(int)(key >> 32)].Bursts[(int)key];
            int end = a.Start + a.Length;
            int max = 0;
            long sum = 0;
            for (int b = a.Start; b < end; b++)
            {
                int others = contention[b] - 1;
                sum += others;
                if (others > max)
                {
                    max = others;
                }
            }

            counts[3 * max]++;
            if (a.CeBytes > 0)
            {
                counts[(3 * max) + 1]++;
            }

            if (a.RetransmitBytes > 0)
            {
                counts[(3 * max) + 2]++;
            }

            into[r] = new BurstInfo(sorted[a.Host].Host, a.Start, a.Length, a.Bytes, a.PeakUtilization, a.CeBytes,
                a.RetransmitBytes, a.PeakConnections, max, (double)sum / a.Length);
        }

        return counts;
    }

    /// <param name="contention">c[b].</param>
    /// <param name="maxCovered">Bins covered by at least one host.</param>
    /// <param name="maxLevel">Largest c[b].</param>
    /// <param name="burstCounts">
    /// Per range of bursts (null when there was none), per level L: bursts with MaxContention L, of those with CE, with
    /// retransmits, at [3L], [3L + 1], [3L + 2].
    /// </param>
    private static ContentionLevelInfo[] BuildLevels(int[] contention, int maxCovered, int maxLevel, int[]?[] burstCounts)
    {
        var bins = new int[maxLevel + 1];
        var counts = new int[3 * (maxLevel + 1)];

        // A bin no host covered has no contention to report; it stays out of the distribution.
        for (int b = 0; b < maxCovered; b++)
        {
            bins[contention[b]]++;
        }

        foreach (int[]? part in burstCounts)
        {
            if (part is not null)
            {
                Add(counts, part, 0, counts.Length);
            }
        }

        var levels = new ContentionLevelInfo[maxLevel + 1];
        for (int level = 0; level <= maxLevel; level++)
        {
            int n = counts[3 * level], withCe = counts[(3 * level) + 1], withRetransmits = counts[(3 * level) + 2];
            levels[level] = new ContentionLevelInfo(level, bins[level], n, withCe, withRetransmits,
                n == 0 ? 0 : (double)withCe / n, n == 0 ? 0 : (double)withRetransmits / n);
        }

        return levels;
    }

    private static SyncEventInfo[] BuildEvents(HostSeries[] sorted, HostScan[] scans, int[] starts, int[] ends,
        int[] contention, ulong[] rackBytes, long binWidthNs, double rackCapacity)
    {
        if (starts.Length == 0)
        {
            return [];
        }

        // The memberships by host (a host's are in one part, in ascending event order), then by event from those, so
        // that each event's hosts come in ascending order.
        int[] eventsOfHostCount = new int[sorted.Length + 1];
        int[] hostsOfEventCount = new int[starts.Length + 1];
        int marks = 0;
        foreach (HostScan scan in scans)
        {
            ReadOnlySpan<int> pairEvent = scan.Pairs.Events, pairHost = scan.Pairs.Hosts;
            for (int m = 0; m < pairEvent.Length; m++)
            {
                eventsOfHostCount[pairHost[m] + 1]++;
                hostsOfEventCount[pairEvent[m] + 1]++;
            }

            marks += pairEvent.Length;
        }

        for (int h = 0; h < sorted.Length; h++)
        {
            eventsOfHostCount[h + 1] += eventsOfHostCount[h];
        }

        for (int j = 0; j < starts.Length; j++)
        {
            hostsOfEventCount[j + 1] += hostsOfEventCount[j];
        }

        int[] eventsOfHost = new int[marks];
        int[] fill = (int[])eventsOfHostCount.Clone();
        foreach (HostScan scan in scans)
        {
            ReadOnlySpan<int> pairEvent = scan.Pairs.Events, pairHost = scan.Pairs.Hosts;
            for (int m = 0; m < pairEvent.Length; m++)
            {
                eventsOfHost[fill[pairHost[m]]++] = pairEvent[m];
            }
        }

        int[] hostsOfEvent = new int[marks];
        fill = (int[])hostsOfEventCount.Clone();
        for (int h = 0; h < sorted.Length; h++)
        {
            for (int m = eventsOfHostCount[h]; m < eventsOfHostCount[h + 1]; m++)
            {
                hostsOfEvent[fill[eventsOfHost[m]]++] = h;
            }
        }

        // Each event's bytes, CE and retransmitted bytes over its member hosts and bins, host by host (each host's
        // events in ascending order, so its series is read front to back), the hosts in one contiguous range per part;
        // each part sums into its own totals (integer sums, so the order of addition does not change the result).
        var totals = new ulong[]?[scans.Length];
        ForEachRange(scans.Length, sorted.Length, (part, from, to) =>
        {
            ulong[] sums = totals[part] = new ulong[3 * starts.Length];
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

                    sums[3 * j] += bytes;
                    sums[(3 * j) + 1] += ce;
                    sums[(3 * j) + 2] += retransmit;
                }
            }
        });

        double bitsPerSecondPerByte = 8e9 / binWidthNs;
        var events = new SyncEventInfo[starts.Length];
        for (int j = 0; j < events.Length; j++)
        {
            int start = starts[j];
            int end = ends[j];
            var names = new string[hostsOfEventCount[j + 1] - hostsOfEventCount[j]];
            for (int m = 0; m < names.Length; m++)
            {
                names[m] = sorted[hostsOfEvent[hostsOfEventCount[j] + m]].Host;
            }

            ulong bytes = 0, ce = 0, retransmit = 0;
            foreach (ulong[]? part in totals)
            {
                if (part is null)
                {
                    continue;
                }

                bytes += part[3 * j];
                ce += part[(3 * j) + 1];
                retransmit += part[(3 * j) + 2];
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

        public ref BurstAccumulator this[int index] => ref _items[index];

        /// <summary>Adds a place for a burst (filled in when it closes); returns its index.</summary>
        public int Reserve()
        {
            if (Count == _items.Length)
            {
                BurstAccumulator[] bigger = ArrayPool<BurstAccumulator>.Shared.Rent(_items.Length * 2);
                Span.CopyTo(bigger);
                ArrayPool<BurstAccumulator>.Shared.Return(_items);
                _items = bigger;
            }

            return Count++;
        }

        public void Dispose()
        {
            ArrayPool<BurstAccumulator>.Shared.Return(_items);
            _items = [];
            Count = 0;
        }
    }

    /// <summary>A growable list of (event, host) pairs on pooled arrays.</summary>
    private sealed class PairBuffer : IDisposable
    {
        private int[] _events = ArrayPool<int>.Shared.Rent(1024);
        private int[] _hosts = ArrayPool<int>.Shared.Rent(1024);

        public int Count { get; private set; }

        public ReadOnlySpan<int> Events => _events.AsSpan(0, Count);

        public ReadOnlySpan<int> Hosts => _hosts.AsSpan(0, Count);

        public void Add(int eventIndex, int host)
        {
            if (Count == _events.Length)
            {
                _events = Grow(_events, Count);
                _hosts = Grow(_hosts, Count);
            }

            _events[Count] = eventIndex;
            _hosts[Count] = host;
            Count++;
        }

        private static int[] Grow(int[] items, int count)
        {
            int[] bigger = ArrayPool<int>.Shared.Rent(items.Length * 2);
            items.AsSpan(0, count).CopyTo(bigger);
            ArrayPool<int>.Shared.Return(items);
            return bigger;
        }

        public void Dispose()
        {
            ArrayPool<int>.Shared.Return(_events);
            ArrayPool<int>.Shared.Return(_hosts);
            _events = [];
            _hosts = [];
            Count = 0;
        }
    }

    /// <summary>A burst while it is scanned and ordered; the four 32-bit fields first, so that it packs in 48 bytes.</summary>
    private struct BurstAccumulator
    {
        public int Host;
        public int Start;
        public int Length;
        public uint PeakConnections;
        public ulong Bytes;
        public double PeakUtilization;
        public ulong CeBytes;
        public ulong RetransmitBytes;
    }
}
