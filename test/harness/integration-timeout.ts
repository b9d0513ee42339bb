// Integration tests talk to real Kafka and Redis processes; some run workloads for many seconds.
jest.setTimeout(180_000);
