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
    /// ANSI codes, no borders, no trailing blanks and a fixed wide width, so output is the same in a pipe, a file and
    /// a test.
    /// </summary>
    public static IAnsiConsole Create(TextWriter writer, bool terminal)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(terminal ? writer : new TrailingBlankTrimmer(writer)),
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
            var column = new TableColumn(new Text(h, new Style(decoration: Decoration.Bold))).NoWrap();

            // Without borders, two blanks tell the columns apart.
            if (!console.Profile.Capabilities.Ansi)
            {
                column.Padding(0, 0, 2, 0);
            }

            table.AddColumn(column);
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

    /// <summary>Drops the blanks a table pads its last column with, line by line.</summary>
    private sealed class TrailingBlankTrimmer(TextWriter inner) : TextWriter
    {
        private readonly System.Text.StringBuilder _line = new();

        public override System.Text.Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            if (value == '\n')
            {
                int end = _line.Length;
                while (end > 0 && _line[end - 1] == ' ')
                {
                    end--;
                }

                inner.Write(_line.ToString(0, end));
                inner.Write('\n');
                _line.Clear();
            }
            else
            {
                _line.Append(value);
            }
        }

        public override void Write(string? value)
        {
            foreach (char c in value ?? "")
            {
                Write(c);
            }
        }

        public override void Flush()
        {
            // A line still open may get more text; only what ended is final.
            inner.Flush();
        }
    }
}
