using Grpc.Core;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Storage;

namespace Millisampler.Coordinator.Sweeps;

/// <summary>Answers <c>SweepReport</c>: trends, fleet rankings and a rack against its own past, from the stored summaries.</summary>
internal sealed class SweepReporter
{
    private const uint DefaultTop = 20;
    private static readonly long Hour = TimeNs.Of(TimeSpan.FromHours(1));
    private static readonly long Day = TimeNs.Of(TimeSpan.FromDays(1));

    private readonly ISweepStore _store;
    private readonly TimeProvider _time;

    public SweepReporter(ISweepStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
    }

    public async Task<SweepReport> ReportAsync(SweepReportRequest request, CancellationToken cancellationToken)
    {
        long to = request.ToUnixNs > 0 ? request.ToUnixNs : TimeNs.FromUnix(_time.GetUtcNow());
        long from = request.FromUnixNs > 0 ? request.FromUnixNs : to - (7 * Day);
        if (from >= to || from < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"from_unix_ns ({from}) must be before to_unix_ns ({to})"));
        }

        if (request.BinWidthNs != 0 && !SweepDefinitionValidator.AllowedBinWidthsNs.Contains(request.BinWidthNs))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"bin_width_ns: {request.BinWidthNs} is not 0 or one of 100000, 1000000, 10000000"));
        }

        if (request.Top > 10_000)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"top: {request.Top} is above 10000"));
        }

        int top = (int)(request.Top == 0 ? DefaultTop : request.Top);
        long bucket = request.Bucket == TrendBucket.Hour ? Hour : Day;
        var report = new SweepReport { FromUnixNs = from, ToUnixNs = to };
        var filter = new SummaryFilter(request.Sweep, request.Rack, request.BinWidthNs, from, to);
        report.Trends.AddRange(await _store.AggregateAsync(filter, bucket, perWidth: true, cancellationToken).ConfigureAwait(false));

        IReadOnlyList<TrendRow> perRack = await _store.AggregateAsync(filter with { Rack = "" }, 0, perWidth: false, cancellationToken).ConfigureAwait(false);
        report.ByContention.AddRange(SweepRanking.Rank(perRack, r => r.ContendedBinShare, top));
        report.ByContentionWithLoss.AddRange(SweepRanking.Rank(perRack, r => r.LossyContendedBinShare, top));

        if (request.Rack.Length > 0)
        {
            IReadOnlyList<TrendRow> current = await _store.AggregateAsync(filter, 0, perWidth: true, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<TrendRow> previous = await _store.AggregateAsync(filter with { FromUnixNs = from - (to - from), ToUnixNs = from }, 0,
                perWidth: true, cancellationToken).ConfigureAwait(false);
            foreach (TrendRow c in current)
            {
                TrendRow p = previous.FirstOrDefault(r => r.BinWidthNs == c.BinWidthNs) ?? new TrendRow { Rack = c.Rack, BinWidthNs = c.BinWidthNs };
                report.ComparedWithPast.Add(new RackComparison
                {
                    Rack = c.Rack,
                    BinWidthNs = c.BinWidthNs,
                    Current = c,
                    Previous = p,
                    ContendedBinShareChange = c.ContendedBinShare - p.ContendedBinShare,
                    LossyContendedBinShareChange = c.LossyContendedBinShare - p.LossyContendedBinShare,
                });
            }
        }

        return report;
    }
}
