namespace Millisampler.Agent.Bpf;

/// <summary>The names runs and messages give an attach mode.</summary>
public static class AttachModeNames
{
    /// <summary>"tcx" or "clsact": how a run records the mode its programs were attached with (Auto is resolved before).</summary>
    public static string Name(this AttachMode mode) => mode == AttachMode.Tcx ? "tcx" : "clsact";
}
