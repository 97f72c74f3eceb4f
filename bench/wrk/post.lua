-- POST /tasks with a small command task; the key matches api.sh's SKIFF_ADMIN_KEY.
wrk.method = "POST"
wrk.body   = '{"command":["true"],"priority":3,"metadata":{"bench":"api"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk_bench_key_0123456789abcdefghijklmnopqrstuvwxyz"
