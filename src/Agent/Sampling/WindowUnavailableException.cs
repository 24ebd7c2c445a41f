namespace Millisampler.Agent.Sampling;

/// <summary>
/// A look-back window cannot be read here: the recorder is off, no ring has that width, the window
/// is not wholly past, or its first bin was already overwritten. The message says which, naming the
/// oldest bin still held where that is the reason.
/// </summary>
public sealed class WindowUnavailableException(string message) : Exception(message);
