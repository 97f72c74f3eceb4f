wrk.headers["Authorization"] = "Bearer sk_bench_key_0123456789abcdefghijklmnopqrstuvwxyz"
