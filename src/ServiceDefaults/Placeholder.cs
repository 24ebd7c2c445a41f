namespace Millisampler.ServiceDefaults; internal static class Placeholder { }
