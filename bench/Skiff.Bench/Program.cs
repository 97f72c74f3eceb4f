using Skiff.Bench;

// Benchmarks of whole-system figures (a plain load client, not BenchmarkDotNet: these are
// throughput/latency numbers of a running system). See bench/README.md for how to run them.
var scenario = args.Length > 0 ? args[0] : "all";
var options = BenchOptions.Parse(args.Skip(1).ToArray());
return scenario switch
{
    "serve" => await ServeMode.RunAsync(options),
    "queue" => await Report.Run(QueueBench.RunAsync(options)),
    "api" => await Report.Run(ApiBench.RunAsync(options)),
    "dispatch" => await Report.Run(DispatchBench.RunAsync(options)),
    "flat" => await Report.Run(FlatCostBench.RunAsync(options)),
    "ready" => await Report.Run(ReadyQueueBench.RunAsync(options)),
    "auth" => await Report.Run(AuthBench.RunAsync(options)),
    "runc" => await Report.Run(RuncBench.RunAsync(options)),
    "all" => await Report.Run(RunAll(options)),
    _ => Usage(),
};

static async Task<IReadOnlyList<Figure>> RunAll(BenchOptions options)
{
    var figures = new List<Figure>();
    figures.AddRange(await QueueBench.RunAsync(options));
    figures.AddRange(await ApiBench.RunAsync(options));
    figures.AddRange(await DispatchBench.RunAsync(options));
    figures.AddRange(await FlatCostBench.RunAsync(options));
    return figures;
}

static int Usage()
{
    Console.Error.WriteLine("usage: Skiff.Bench queue|api|dispatch|flat|ready|auth|runc|all [--tasks N] [--seconds S] [--connections C] [--large N] [--max-workers W]");
    return 2;
}
