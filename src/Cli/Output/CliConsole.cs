using Google.Protobuf;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Millisampler.Cli.Output;

/// <summary>Spectre consoles over a <see cref="TextWriter"/>: styled on a terminal, plain text otherwise.</summary>
internal static class CliConsole
{
    // Wide enough that a table written to a pipe or file is never wrapped.
    private const int PlainWidth = 240;

    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithIndentation("  "));

    /// <summary>
    /// A console writing to <paramref name="writer"/>. On a terminal: colours and borders as detected. Otherwise no
    /// ANSI codes, ASCII only and a fixed wide width, so output is the same in a pipe, a file and a test.
    /// </summary>
    public static IAnsiConsole Create(TextWriter writer, bool terminal)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!terminal)
        {
            console.Profile.Width = PlainWidth;
            console.Profile.Capabilities.Unicode = false;
        }

        return console;
    }

    /// <summary>A table without borders on plain output (easy to grep and cut), rounded borders on a terminal.</summary>
    public static Table NewTable(IAnsiConsole console, params string[] headers)
    {
        var table = new Table { ShowHeaders = true };
        if (console.Profile.Capabilities.Ansi)
        {
            table.Border(TableBorder.Rounded);
        }
        else
        {
            table.Border(TableBorder.None);
        }

        foreach (string h in headers)
        {
            table.AddColumn(new TableColumn(new Text(h, new Style(decoration: Decoration.Bold))).NoWrap());
        }

        return table;
    }

    /// <summary>Adds a row of plain-text cells (no markup is interpreted in them).</summary>
    public static void AddPlainRow(this Table table, params string[] cells) =>
        table.AddRow(cells.Select(c => (IRenderable)new Text(c)).ToArray());

    /// <summary>One line of plain text.</summary>
    public static void Line(this IAnsiConsole console, string text = "") => console.Write(new Text(text + "\n"));

    /// <summary>One line, in <paramref name="style"/> on a terminal.</summary>
    public static void Line(this IAnsiConsole console, string text, Style style) => console.Write(new Text(text + "\n", style));

    /// <summary>Writes <paramref name="message"/> as indented JSON followed by a newline.</summary>
    public static void WriteJson(TextWriter writer, IMessage message)
    {
        Json.Format(message, writer);
        writer.WriteLine();
        writer.Flush();
    }
}
