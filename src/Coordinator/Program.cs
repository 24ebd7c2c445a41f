using Millisampler.Coordinator;

return await CoordinatorApp.RunAsync(args);
