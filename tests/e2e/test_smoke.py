"""The seed's scenario, quickly: a first request generates, the next one
is a cache hit with the same Location."""


def test_generate_then_hit(env):
    with env.front() as f:
        a = f.get("/1024x1024.jpg?text=A%20beautiful%20sunset")
        assert a.status == 302, a
        b = f.get("/1024x1024.jpg?text=A%20beautiful%20sunset")
        assert b.status == 302 and b.header("location") == a.header("location"), b
        f.flush()
        rows = f.sql("SELECT status, total_requests, api_calls_made FROM generation_status")
        assert rows == [["completed", "2", "1"]], rows
