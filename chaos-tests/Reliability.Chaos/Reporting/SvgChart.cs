using System.Globalization;
using System.Security;
using System.Text;
using Reliability.Chaos.Scenarios;
using Reliability.Chaos.Workload;

namespace Reliability.Chaos.Reporting;

/// <summary>
/// An SVG chart of one scenario: each request's latency (log scale) at the time it was sent, coloured
/// by outcome, with the fault windows shaded and labelled; below it, correct replies per 250 ms, so
/// an outage shows as a gap.
/// </summary>
public static class SvgChart
{
    private const int Width = 960;
    private const int Height = 450;
    private const int Left = 60;
    private const int Right = 20;
    private const int Top = 40;
    private const int Bottom = 130;
    private const int StripHeight = 60;
    private const double BucketMs = 250;

    /// <summary>Renders the chart.</summary>
    /// <param name="result">The scenario result.</param>
    /// <returns>The SVG document.</returns>
    public static string Render(ScenarioResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        double endMs = Math.Max(1000, result.Requests.Select(r => r.EndMs).Concat(result.Faults.Select(f => f.EndMs)).DefaultIfEmpty(0).Max());
        double maxLatency = Math.Max(100, result.Requests.Select(r => r.LatencyMs).DefaultIfEmpty(0).Max());
        double logMin = 0; // 1 ms
        double logMax = Math.Ceiling(Math.Log10(maxLatency));
        double plotWidth = Width - Left - Right;
        double plotHeight = Height - Top - Bottom;
        double X(double ms) => Left + (ms / endMs * plotWidth);
        double Y(double latency) => Top + plotHeight - ((Math.Log10(Math.Max(1, latency)) - logMin) / (logMax - logMin) * plotHeight);

        var svg = new StringBuilder();
        svg.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"11\">\n"));
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(Invariant($"<text x=\"{Left}\" y=\"16\" font-size=\"14\" font-weight=\"bold\">{Escape(result.Name)}: request latency over time</text>\n"));
        svg.Append(Invariant($"<text x=\"{Left}\" y=\"31\" fill=\"#555\">{result.Answered} answered, {result.Failed} failed, {result.WrongReplies} wrong, {result.Lost} lost; shaded: fault windows</text>\n"));

        // Fault windows first, so the points stay visible on top.
        int lane = 0;
        foreach (var fault in result.Faults)
        {
            double x1 = X(fault.StartMs);
            double x2 = Math.Max(X(fault.EndMs), x1 + 3);
            svg.Append(Invariant($"<rect x=\"{x1:F1}\" y=\"{Top}\" width=\"{x2 - x1:F1}\" height=\"{plotHeight:F1}\" fill=\"#f59e0b\" fill-opacity=\"0.22\" stroke=\"#d97706\" stroke-opacity=\"0.6\"><title>{Escape(fault.Name)}</title></rect>\n"));
            svg.Append(Invariant($"<text x=\"{x1 + 3:F1}\" y=\"{Top + 12 + (12 * (lane % 3))}\" fill=\"#92400e\">{Escape(Shorten(fault.Name, 48))}</text>\n"));
            lane++;
        }

        // Axes and grid.
        svg.Append(Invariant($"<line x1=\"{Left}\" y1=\"{Top + plotHeight}\" x2=\"{Width - Right}\" y2=\"{Top + plotHeight}\" stroke=\"#333\"/>\n"));
        svg.Append(Invariant($"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Top + plotHeight}\" stroke=\"#333\"/>\n"));
        for (int power = 0; power <= logMax; power++)
        {
            double latency = Math.Pow(10, power);
            double y = Y(latency);
            svg.Append(Invariant($"<line x1=\"{Left}\" y1=\"{y:F1}\" x2=\"{Width - Right}\" y2=\"{y:F1}\" stroke=\"#ddd\"/>\n"));
            string label = latency >= 1000 ? Invariant($"{latency / 1000:0.#} s") : Invariant($"{latency:0} ms");
            svg.Append(Invariant($"<text x=\"{Left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{label}</text>\n"));
        }

        double step = NiceStep(endMs / 1000 / 10);
        for (double s = 0; s * 1000 <= endMs && s < 10_000; s += step)
        {
            double x = X(s * 1000);
            svg.Append(Invariant($"<line x1=\"{x:F1}\" y1=\"{Top + plotHeight}\" x2=\"{x:F1}\" y2=\"{Top + plotHeight + 4}\" stroke=\"#333\"/>\n"));
            svg.Append(Invariant($"<text x=\"{x:F1}\" y=\"{Top + plotHeight + 16}\" text-anchor=\"middle\">{s:0.#} s</text>\n"));
        }

        svg.Append(Invariant($"<text x=\"{Left + (plotWidth / 2):F0}\" y=\"{Top + plotHeight + 32}\" text-anchor=\"middle\" fill=\"#555\">time since the workload started (request sent)</text>\n"));

        // Throughput strip: correct replies per bucket, by the time they arrived.
        double stripTop = Top + plotHeight + 50;
        var buckets = new int[(int)Math.Ceiling(endMs / BucketMs) + 1];
        foreach (var request in result.Requests.Where(r => r.Outcome == RequestOutcome.Answered))
        {
            buckets[Math.Clamp((int)(request.EndMs / BucketMs), 0, buckets.Length - 1)]++;
        }

        int peak = Math.Max(1, buckets.Max());
        foreach (var fault in result.Faults)
        {
            double x1 = X(fault.StartMs);
            double x2 = Math.Max(X(fault.EndMs), x1 + 3);
            svg.Append(Invariant($"<rect x=\"{x1:F1}\" y=\"{stripTop:F1}\" width=\"{x2 - x1:F1}\" height=\"{StripHeight}\" fill=\"#f59e0b\" fill-opacity=\"0.22\"/>\n"));
        }

        for (int i = 0; i < buckets.Length; i++)
        {
            double height = (double)buckets[i] / peak * StripHeight;
            double x = X(i * BucketMs);
            double width = Math.Max(1, Math.Min(X((i + 1) * BucketMs), Width - Right) - x - 1);
            svg.Append(Invariant($"<rect x=\"{x:F1}\" y=\"{stripTop + StripHeight - height:F1}\" width=\"{width:F1}\" height=\"{height:F1}\" fill=\"#16a34a\" fill-opacity=\"0.75\"><title>{buckets[i]} replies</title></rect>\n"));
        }

        svg.Append(Invariant($"<line x1=\"{Left}\" y1=\"{stripTop + StripHeight}\" x2=\"{Width - Right}\" y2=\"{stripTop + StripHeight}\" stroke=\"#333\"/>\n"));
        svg.Append(Invariant($"<text x=\"{Left - 6}\" y=\"{stripTop + 10:F1}\" text-anchor=\"end\">{peak}</text>\n"));
        svg.Append(Invariant($"<text x=\"{Left - 6}\" y=\"{stripTop + StripHeight:F1}\" text-anchor=\"end\">0</text>\n"));
        svg.Append(Invariant($"<text x=\"{Left + (plotWidth / 2):F0}\" y=\"{Height - 8}\" text-anchor=\"middle\" fill=\"#555\">correct replies per {BucketMs:0} ms (by arrival time)</text>\n"));

        foreach (var request in result.Requests.OrderBy(r => r.Outcome == RequestOutcome.Answered ? 0 : 1))
        {
            double x = X(request.StartMs);
            double y = Y(request.LatencyMs);
            string colour = request.Outcome switch
            {
                RequestOutcome.Answered => "#2563eb",
                RequestOutcome.Failed => "#dc2626",
                RequestOutcome.WrongReply => "#c026d3",
                _ => "#111",
            };
            double radius = request.Outcome == RequestOutcome.Answered ? 1.8 : 3.5;
            svg.Append(Invariant($"<circle cx=\"{x:F1}\" cy=\"{y:F1}\" r=\"{radius}\" fill=\"{colour}\" fill-opacity=\"0.7\"><title>{Escape(request.Id)} {request.Outcome} {request.LatencyMs:F0} ms</title></circle>\n"));
        }

        // Legend.
        int legendX = Width - Right - 330;
        string[] names = ["answered", "failed", "wrong reply", "lost"];
        string[] colours = ["#2563eb", "#dc2626", "#c026d3", "#111"];
        for (int i = 0; i < names.Length; i++)
        {
            svg.Append(Invariant($"<circle cx=\"{legendX + (i * 82)}\" cy=\"27\" r=\"4\" fill=\"{colours[i]}\"/><text x=\"{legendX + (i * 82) + 8}\" y=\"31\">{names[i]}</text>\n"));
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static double NiceStep(double raw)
    {
        double[] steps = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];
        return steps.FirstOrDefault(s => s >= raw, 600);
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";

    private static string Escape(string text) => SecurityElement.Escape(text) ?? string.Empty;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
