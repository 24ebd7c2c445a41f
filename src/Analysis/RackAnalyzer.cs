using System.Buffers;

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

        // Temporaries come from the pool; only the results are allocated.
        int[] diff = ArrayPool<int>.Shared.Rent(bins + 1);
        ulong[] rackBytes = ArrayPool<ulong>.Shared.Rent(bins);
        int[] lastEventOfHost = ArrayPool<int>.Shared.Rent(sorted.Length);
        var bursts = new BurstBuffer();
        try
        {
            Array.Clear(diff, 0, bins + 1);
            Array.Clear(rackBytes, 0, bins);

            int maxCovered = 0;
            double rackCapacity = 0;
            for (int h = 0; h < sorted.Length; h++)
            {
                HostSeries s = sorted[h];
                rackCapacity += s.LinkSpeedBitsPerSecond;
                maxCovered = Math.Max(maxCovered, s.BinsCovered);
                FindBursts(h, s, binWidthNs, theta, bursts, diff, rackBytes);
            }

            int[] contention = new int[bins];
            int running = 0;
            for (int b = 0; b < bins; b++)
            {
                running += diff[b];
                contention[b] = running;
            }

            // Stable order for callers: start bin, then host name (host indices follow name order).
            bursts.Span.Sort(static (x, y) => x.Start != y.Start ? x.Start.CompareTo(y.Start) : x.Host.CompareTo(y.Host));

            var burstInfos = new BurstInfo[bursts.Count];
            for (int i = 0; i < bursts.Count; i++)
            {
                ref BurstAccumulator a = ref bursts.Span[i];
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

            ContentionLevelInfo[] levels = BuildLevels(contention, maxCovered, burstInfos);
            SyncEventInfo[] events = BuildEvents(sorted, bursts, contention, rackBytes, binWidthNs,
                options.EventMinHosts, rackCapacity, lastEventOfHost);

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
            bursts.Dispose();
            ArrayPool<int>.Shared.Return(diff);
            ArrayPool<ulong>.Shared.Return(rackBytes);
            ArrayPool<int>.Shared.Return(lastEventOfHost);
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

    private static void FindBursts(int hostIndex, HostSeries s, long binWidthNs, double theta,
        BurstBuffer bursts, int[] diff, ulong[] rackBytes)
    {
        // Bits the link can carry in one bin; C·binWidthNs is exact for round speeds and widths.
        double capacityBits = s.LinkSpeedBitsPerSecond * binWidthNs / 1e9;
        ulong[] bytes = s.IngressBytes;
        var current = default(BurstAccumulator);
        bool inBurst = false;

        // Bins at or past BinsCovered are missing: never part of a burst, never counted.
        for (int b = 0; b < s.BinsCovered; b++)
        {
            ulong v = bytes[b];
            rackBytes[b] += v;
            double u = 8.0 * v / capacityBits;
            if (u >= theta)
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
                Close(ref current, bursts, diff);
                inBurst = false;
            }
        }

        if (inBurst)
        {
            Close(ref current, bursts, diff);
        }
    }

    private static void Close(ref BurstAccumulator burst, BurstBuffer bursts, int[] diff)
    {
        bursts.Add(burst);
        diff[burst.Start]++;
        diff[burst.Start + burst.Length]--;
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
        ulong[] rackBytes, long binWidthNs, int k, double rackCapacity, int[] lastEventOfHost)
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
        foreach (ref readonly BurstAccumulator burst in bursts.Span)
        {
            int burstEnd = burst.Start + burst.Length;
            int j = FirstEventEndingAfter(ends, burst.Start);
            for (; j < starts.Count && starts[j] < burstEnd; j++)
            {
                if (lastEventOfHost[burst.Host] != j)
                {
                    lastEventOfHost[burst.Host] = j;
                    hostsOfEvent[j].Add(burst.Host);
                }
            }
        }

        double bitsPerSecondPerByte = 8e9 / binWidthNs;
        var events = new SyncEventInfo[starts.Count];
        for (int j = 0; j < events.Length; j++)
        {
            int start = starts[j];
            int end = ends[j];
            List<int> members = hostsOfEvent[j];
            members.Sort();
            var names = new string[members.Count];
            ulong bytes = 0, ce = 0, retransmit = 0;
            for (int m = 0; m < members.Count; m++)
            {
                HostSeries s = sorted[members[m]];
                names[m] = s.Host;
                int last = Math.Min(end, s.BinsCovered);
                for (int b = start; b < last; b++)
                {
                    bytes += s.IngressBytes[b];
                    ce += s.IngressCeBytes[b];
                    retransmit += s.IngressRetransmitBytes[b];
                }
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

    private static int FirstEventEndingAfter(List<int> ends, int bin)
    {
        int lo = 0, hi = ends.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (ends[mid] > bin)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo;
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
