namespace Millisampler.Web.Tests.Infrastructure;

/// <summary>The browser tests share one headless Chromium and run one after another (two cores, one browser).</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<HeadlessChromium>
{
    public const string Name = "browser";
}
