using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace PeerNet.Cli;

/// <summary>How one doctor check came out.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DoctorStatus>))]
internal enum DoctorStatus
{
    /// <summary>Works (✓).</summary>
    Pass,

    /// <summary>Works with a caveat, or could not be tried; not a failure (!).</summary>
    Warn,

    /// <summary>Does not work (✗): the exit code becomes 1.</summary>
    Fail,

    /// <summary>A fact, neither good nor bad (·).</summary>
    Info,
}

/// <summary>One line of the doctor's report.</summary>
/// <param name="Step">What was checked ("hub", "signaling", "STUN stun:host:3478", ...).</param>
/// <param name="Status">How it came out.</param>
/// <param name="Message">What was found, in words.</param>
/// <param name="Milliseconds">How long it took (null for facts).</param>
internal sealed record DoctorCheck(string Step, DoctorStatus Status, string Message, double? Milliseconds = null)
{
    /// <summary>What to do about it.</summary>
    public string? Hint { get; init; }

    /// <summary>Machine-readable findings (addresses, behaviours), for --json.</summary>
    public IReadOnlyDictionary<string, string>? Data { get; init; }
}

/// <summary>
/// The doctor's report: checks printed as they finish (✓ ✗ ! ·, with timings), then a summary in
/// plain words; or, with --json, one JSON document at the end. Exit code 1 when any check failed.
/// </summary>
internal sealed class DoctorReport(bool json)
{
    private readonly List<DoctorCheck> _checks = [];
    private readonly List<(DoctorStatus Status, string Text)> _summary = [];

    public IReadOnlyList<DoctorCheck> Checks => _checks;

    public bool Failed => _checks.Any(c => c.Status == DoctorStatus.Fail);

    public int ExitCode => Failed ? 1 : 0;

    public void Heading(string text)
    {
        if (!json) AnsiConsole.MarkupLine($"[bold]{Markup.Escape(text)}[/]");
    }

    public DoctorCheck Add(DoctorCheck check)
    {
        _checks.Add(check);
        if (json) return check;
        var time = check.Milliseconds is { } ms ? $" [grey]({Format(ms)})[/]" : "";
        AnsiConsole.MarkupLine($"{Symbol(check.Status)} [bold]{Markup.Escape(check.Step)}[/]: {Markup.Escape(check.Message)}{time}");
        if (check.Hint is { } hint) AnsiConsole.MarkupLine($"    [grey]→ {Markup.Escape(hint)}[/]");
        return check;
    }

    public void Summarize(DoctorStatus status, string text) => _summary.Add((status, text));

    /// <summary>Prints the summary (or the JSON document) and returns the exit code.</summary>
    public int Finish(TimeSpan elapsed)
    {
        if (json)
        {
            var document = new
            {
                ok = !Failed,
                elapsedMs = Math.Round(elapsed.TotalMilliseconds),
                checks = _checks.Select(c => new
                {
                    step = c.Step,
                    status = c.Status.ToString().ToLowerInvariant(),
                    message = c.Message,
                    ms = c.Milliseconds is { } ms ? Math.Round(ms, 1) : (double?)null,
                    hint = c.Hint,
                    data = c.Data,
                }),
                summary = _summary.Select(s => new { status = s.Status.ToString().ToLowerInvariant(), text = s.Text }),
            };
            Console.WriteLine(JsonSerializer.Serialize(document, JsonOptions));
            return ExitCode;
        }

        AnsiConsole.WriteLine();
        AnsiConsole.MarkupLine("[bold]Summary[/]");
        foreach (var (status, text) in _summary)
        {
            AnsiConsole.MarkupLine($"  {Symbol(status)} {Markup.Escape(text)}");
        }

        var failed = _checks.Count(c => c.Status == DoctorStatus.Fail);
        AnsiConsole.MarkupLine(failed == 0
            ? $"[green]All checks passed[/] in {Format(elapsed.TotalMilliseconds)}."
            : $"[red]{failed} check{(failed == 1 ? "" : "s")} failed[/] (in {Format(elapsed.TotalMilliseconds)}).");
        return ExitCode;
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // read by people too: no \u0060 for `
    };

    private static string Symbol(DoctorStatus status) => status switch
    {
        DoctorStatus.Pass => "[green]✓[/]",
        DoctorStatus.Warn => "[yellow]![/]",
        DoctorStatus.Fail => "[red]✗[/]",
        _ => "[grey]·[/]",
    };

    public static string Format(double milliseconds) => milliseconds >= 10_000
        ? (milliseconds / 1000).ToString("F1", CultureInfo.InvariantCulture) + " s"
        : milliseconds >= 10
            ? milliseconds.ToString("F0", CultureInfo.InvariantCulture) + " ms"
            : milliseconds.ToString("F1", CultureInfo.InvariantCulture) + " ms";
}
