using System.Reflection;
using Millisampler.Coordinator;

// The informational version: Directory.Build.props' <Version>, plus the source revision when built from git.
if (args is ["--version"])
{
    Console.WriteLine(typeof(CoordinatorApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);
    return 0;
}

return await CoordinatorApp.RunAsync(args);
