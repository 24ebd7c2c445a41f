namespace Millisampler.Analysis; internal static class Placeholder { }
