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

    /// <summary>
    /// A table of plain cells that fits the console's width by shortening only the cells of column
    /// <paramref name="shorten"/> (free text such as a reason), never the others: Spectre would otherwise narrow every
    /// column, down to a host name of one character. <paramref name="shortened"/> lists the rows cut, so the caller can
    /// print their text in full below the table.
    /// </summary>
    public static Table FittedTable(IAnsiConsole console, string[] headers, IReadOnlyList<string[]> rows, int shorten, out IReadOnlyList<int> shortened) =>
        FittedTable(console, headers, rows, shorten, out shortened, out _);

    /// <summary>
    /// As <see cref="FittedTable(IAnsiConsole, string[], IReadOnlyList{string[]}, int, out IReadOnlyList{int})"/>;
    /// <paramref name="fits"/> is false when the other columns alone leave too little room, so Spectre would narrow them
    /// and the caller should lay the rows out another way.
    /// </summary>
    public static Table FittedTable(IAnsiConsole console, string[] headers, IReadOnlyList<string[]> rows, int shorten, out IReadOnlyList<int> shortened,
        out bool fits)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(rows);

        // The table's natural width with the free-text column empty but for its header: what the other columns need.
        Table probe = NewTable(console, headers);
        foreach (string[] row in rows)
        {
            probe.AddPlainRow([.. row.Select((c, i) => i == shorten ? "" : c)]);
        }

        int others = Render(console, probe, Unbounded).Max(l => l.GetCellWidth()) - headers[shorten].GetCellWidth();
        int room = Math.Max(MinShortenedCell, console.Profile.Width - others);
        fits = others + MinShortenedCell <= console.Profile.Width;
        string ellipsis = console.Profile.Capabilities.Unicode ? "…" : "...";
        while (true)
        {
            var cut = new List<int>();
            Table table = NewTable(console, headers);
            for (int r = 0; r < rows.Count; r++)
            {
                string[] cells = [.. rows[r]];
                if (cells[shorten].GetCellWidth() > room)
                {
                    cells[shorten] = Shorten(cells[shorten], room, ellipsis);
                    cut.Add(r);
                }

                table.AddPlainRow(cells);
            }

            // Spectre's own layout decides: the table fits when it takes as many lines at the console's width as
            // unbounded (no cell wrapped). Its padding rules are not ours to mirror, so a tight fit is searched.
            shortened = cut;
            if (!fits || room <= MinShortenedCell || Render(console, table, console.Profile.Width).Length == Render(console, table, Unbounded).Length)
            {
                return table;
            }

            room--;
        }
    }

    // Below this a shortened cell says too little; the table may then be wider than the console and the terminal wraps it.
    private const int MinShortenedCell = 16;

    private const int Unbounded = 100_000;

    /// <summary>The lines <paramref name="table"/> takes on a plain console like <paramref name="console"/> of <paramref name="width"/>.</summary>
    private static string[] Render(IAnsiConsole console, Table table, int width)
    {
        var measure = new StringWriter();
        IAnsiConsole plain = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(measure),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        plain.Profile.Width = width;
        plain.Profile.Capabilities.Unicode = console.Profile.Capabilities.Unicode;
        plain.Write(table);
        return measure.ToString().TrimEnd('\n').Split('\n');
    }

    private static string Shorten(string text, int room, string ellipsis)
    {
        int keep = Math.Max(0, room - ellipsis.Length);
        var sb = new System.Text.StringBuilder();
        foreach (char c in text)
        {
            if ((sb.ToString() + c).GetCellWidth() > keep)
            {
                break;
            }

            sb.Append(c);
        }

        return sb.ToString().TrimEnd() + ellipsis;
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
