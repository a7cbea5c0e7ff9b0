// Apache Curator's recipes (Debian's libcurator-*-java 5.4 over the zookeeper 3.8 client),
// unchanged, against a local zabra cluster: each use case with a check of its outcome, a
// participant's session closing where the use case is about failure, and zabra nodes killed
// mid-run (then restarted). Every wait is bounded; the first failure names its use case.
//
// Usage: java CuratorRecipes HOSTS SUPERVISOR_URL TOKEN
// HOSTS lists nodes 1..n in order; node i serves HTTP at the supervisor's port + i.

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.PathChildrenCache;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;

public final class CuratorRecipes {
    static final List<String> PASSED = new ArrayList<>();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    static String hosts;
    static String[] hostList;
    static String supervisor;
    static String token;
    static int httpPort;

    public static void main(String[] args) throws Exception {
        hosts = args[0];
        hostList = hosts.split(",");
        supervisor = args[1].replaceAll("/$", "");
        token = args[2];
        httpPort = URI.create(supervisor).getPort();
        long began = System.nanoTime();
        var admin = client();
        if (admin.checkExists().forPath("/curator") != null) {
            admin.delete().deletingChildrenIfNeeded().forPath("/curator");
        }
        useCase("InterProcessMutex", CuratorRecipes::mutex);
        useCase("InterProcessMutex across a node kill", CuratorRecipes::mutexAcrossNodeKill);
        useCase("LeaderLatch", CuratorRecipes::leaderLatch);
        useCase("LeaderSelector", CuratorRecipes::leaderSelector);
        useCase("DistributedQueue across a leader kill", CuratorRecipes::queueAcrossLeaderKill);
        useCase("CuratorCache", () -> curatorCache(admin));
        useCase("PathChildrenCache", () -> pathChildrenCache(admin));
        useCase("DistributedBarrier", CuratorRecipes::barrier);
        long seconds = (System.nanoTime() - began) / 1_000_000_000L;
        System.out.println("curator recipes: " + PASSED.size() + " passed, 0 failed in " + seconds + " s");
        System.exit(0); // recipe threads of closed clients need not be joined
    }

    interface UseCase {
        void run() throws Exception;
    }

    /** Runs one use case; an exception (a Curator timeout, say) fails it by name. */
    static void useCase(String name, UseCase body) {
        try {
            body.run();
        } catch (Exception e) {
            e.printStackTrace();
            check(name + ": threw " + e, false, "");
        }
    }

    static void check(String name, boolean ok, Object detail) {
        if (!ok) {
            System.out.println("FAIL curator: " + name + " " + detail);
            System.out.println("curator recipes: " + PASSED.size() + " passed, 1 failed");
            System.out.flush();
            System.exit(1);
        }
        PASSED.add(name);
        System.out.println("ok   curator: " + name);
    }

    static boolean waitFor(BooleanSupplier cond, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < end) {
            if (cond.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return cond.getAsBoolean();
    }

    static CuratorFramework client() throws InterruptedException {
        var c = CuratorFrameworkFactory.builder()
                .connectString(hosts)
                .sessionTimeoutMs(10_000)
                .connectionTimeoutMs(5_000)
                .retryPolicy(new ExponentialBackoffRetry(100, 20, 1_000))
                .build();
        c.start();
        if (!c.blockUntilConnected(15, TimeUnit.SECONDS)) {
            throw new IllegalStateException("a Curator client did not connect within 15 s");
        }
        return c;
    }

    // --- the cluster's supervisor ---

    static String get(String url) {
        try {
            var req = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build();
            return HTTP.send(req, HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return ""; // a killed node does not answer
        }
    }

    static String health(int i) {
        return get("http://127.0.0.1:" + (httpPort + i) + "/healthz");
    }

    /** The serving leader, waiting at most 30 s; 0 if none. */
    static int leader() throws InterruptedException {
        long end = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < end) {
            for (int i = 1; i <= hostList.length; i++) {
                String h = health(i);
                if (h.contains("\"serving\":true") && h.contains("\"state\":\"Leading\"")) {
                    return i;
                }
            }
            Thread.sleep(100);
        }
        return 0;
    }

    /** The node a client is connected to, from the ZooKeeper handle's `remoteserver:`. */
    static int nodeOf(CuratorFramework c) throws Exception {
        String s = c.getZookeeperClient().getZooKeeper().toString();
        for (int i = 1; i <= hostList.length; i++) {
            String port = hostList[i - 1].substring(hostList[i - 1].lastIndexOf(':') + 1);
            if (s.matches("(?s).*remoteserver:\\S*:" + port + "\\b.*")) {
                return i;
            }
        }
        return 0;
    }

    static void control(int node, String action) throws Exception {
        var url = URI.create(supervisor + "/nodes/" + node + "/" + action + "?token=" + token);
        var req = HttpRequest.newBuilder(url).POST(HttpRequest.BodyPublishers.noBody()).build();
        var res = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) {
            throw new IllegalStateException(action + " node " + node + ": " + res.body());
        }
    }

    static void restart(int node) throws Exception {
        control(node, "restart");
        boolean all = waitFor(() -> {
            for (int i = 1; i <= hostList.length; i++) {
                if (!health(i).contains("\"serving\":true")) {
                    return false;
                }
            }
            return true;
        }, 40_000);
        check("cluster: node " + node + " restarted and serving", all && leader() != 0, "");
    }

    // --- the recipes ---

    /** Acquires and releases (an InterProcessMutex belongs to the thread that acquired it). */
    static boolean acquire(InterProcessMutex m, long seconds) {
        try {
            if (!m.acquire(seconds, TimeUnit.SECONDS)) {
                return false;
            }
            m.release();
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    /** InterProcessMutex: two clients contend; the holder's client goes away. */
    static void mutex() throws Exception {
        String path = "/curator/mutex";
        var a = client();
        var b = client();
        var ma = new InterProcessMutex(a, path);
        var mb = new InterProcessMutex(b, path);
        check("InterProcessMutex: the first client acquires it", ma.acquire(5, TimeUnit.SECONDS), "");
        check("InterProcessMutex: the second cannot while it is held", !mb.acquire(500, TimeUnit.MILLISECONDS), "");
        var got = CompletableFuture.supplyAsync(() -> acquire(mb, 20));
        waitFor(() -> participants(ma) == 2, 5_000);
        a.close();
        check("InterProcessMutex: the holder's session closes, the waiting client acquires", got.get(25, TimeUnit.SECONDS), "");
        b.close();
    }

    static int participants(InterProcessMutex m) {
        try {
            return m.getParticipantNodes().size();
        } catch (Exception e) {
            return -1;
        }
    }

    /** InterProcessMutex held while the zabra node its holder is connected to is killed. */
    static void mutexAcrossNodeKill() throws Exception {
        String path = "/curator/mutex-kill";
        var a = client();
        var b = client();
        var ma = new InterProcessMutex(a, path);
        var mb = new InterProcessMutex(b, path);
        check("InterProcessMutex: acquired before a node is killed", ma.acquire(5, TimeUnit.SECONDS), "");
        var got = CompletableFuture.supplyAsync(() -> acquire(mb, 40));
        waitFor(() -> participants(ma) == 2, 5_000);
        int node = nodeOf(a);
        String role = node == leader() ? "the leader" : "a follower";
        control(node, "kill");
        boolean moved = waitFor(() -> a.getZookeeperClient().isConnected() && participants(ma) == 2, 30_000);
        check("InterProcessMutex: the holder's server (node " + node + ", " + role + ") killed, its session moves, the lock stays held",
                moved && !got.isDone(), "node " + nodeOf(a));
        ma.release();
        check("InterProcessMutex: released after the kill, it passes to the waiter", got.get(20, TimeUnit.SECONDS), "");
        a.close();
        b.close();
        restart(node);
    }

    /** LeaderLatch: 3 candidates; the leader's client closes. */
    static void leaderLatch() throws Exception {
        String path = "/curator/latch";
        List<CuratorFramework> clients = new ArrayList<>();
        List<LeaderLatch> latches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            clients.add(client());
            latches.add(new LeaderLatch(clients.get(i), path, "latch-" + i));
            latches.get(i).start();
        }
        check("LeaderLatch: exactly one of 3 leads", waitFor(() -> leaders(latches, -1) == 1, 10_000), "");
        int leader = 0;
        while (!latches.get(leader).hasLeadership()) {
            leader++;
        }
        final int gone = leader;
        clients.get(gone).close();
        boolean next = waitFor(() -> leaders(latches, gone) == 1, 15_000);
        check("LeaderLatch: the leader's client closes, exactly one other latch leads", next, "");
        for (int i = 0; i < 3; i++) {
            if (i != gone) {
                latches.get(i).close();
                clients.get(i).close();
            }
        }
    }

    static int leaders(List<LeaderLatch> latches, int except) {
        int n = 0;
        for (int i = 0; i < latches.size(); i++) {
            n += i != except && latches.get(i).hasLeadership() ? 1 : 0;
        }
        return n;
    }

    /** LeaderSelector: 3 candidates each leading until their client goes. */
    static void leaderSelector() throws Exception {
        String path = "/curator/selector";
        List<Integer> led = Collections.synchronizedList(new ArrayList<>());
        List<CuratorFramework> clients = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            final int id = i;
            clients.add(client());
            var selector = new LeaderSelector(clients.get(i), path, new LeaderSelectorListenerAdapter() {
                @Override
                public void takeLeadership(CuratorFramework c) throws Exception {
                    led.add(id);
                    Thread.sleep(120_000);
                }
            });
            selector.autoRequeue();
            selector.start();
        }
        check("LeaderSelector: one of 3 takes leadership", waitFor(() -> led.size() == 1, 10_000), led);
        int first = led.get(0);
        clients.get(first).close();
        boolean next = waitFor(() -> led.size() == 2, 15_000) && led.get(1) != first;
        check("LeaderSelector: the leader's client closes, another takes leadership", next, led);
        Thread.sleep(300);
        check("LeaderSelector: and only one", led.size() == 2, led);
        for (int i = 0; i < 3; i++) {
            if (i != first) {
                clients.get(i).close();
            }
        }
    }

    static final QueueSerializer<String> TEXT = new QueueSerializer<>() {
        public byte[] serialize(String item) {
            return item.getBytes(StandardCharsets.UTF_8);
        }

        public String deserialize(byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    };

    /** DistributedQueue: a producer and a consumer; the zabra leader is killed between puts. */
    static void queueAcrossLeaderKill() throws Exception {
        String path = "/curator/queue";
        List<String> consumed = Collections.synchronizedList(new ArrayList<>());
        var consumer = new QueueConsumer<String>() {
            public void consumeMessage(String message) {
                consumed.add(message);
            }

            public void stateChanged(CuratorFramework c, ConnectionState s) {}
        };
        var cc = client();
        var pc = client();
        DistributedQueue<String> in = QueueBuilder.builder(cc, consumer, TEXT, path).buildQueue();
        // Puts in the foreground: Curator's default puts in the background, and a background put
        // lost to the leader's kill is retried after the next one went through (CI once read
        // item-7 before item-6). The queue's order is the order in which puts completed.
        DistributedQueue<String> out = QueueBuilder.builder(pc, null, TEXT, path).putInBackground(false).buildQueue();
        in.start();
        out.start();
        List<String> items = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            items.add("item-" + i);
        }
        for (int i = 0; i < 5; i++) {
            out.put(items.get(i));
        }
        check("DistributedQueue: 5 items consumed in order", waitFor(() -> consumed.size() >= 5, 10_000) && consumed.equals(items.subList(0, 5)), consumed);
        int old = leader();
        control(old, "kill");
        for (int i = 5; i < 10; i++) {
            out.put(items.get(i));
        }
        boolean all = waitFor(() -> consumed.size() >= 10, 30_000) && consumed.equals(items);
        check("DistributedQueue: the leader (node " + old + ") killed, 5 more put and all 10 consumed in order, once", all, consumed);
        in.close();
        out.close();
        cc.close();
        pc.close();
        restart(old);
    }

    /** CuratorCache (persistent recursive watch): sees a create, an update, a delete. */
    static void curatorCache(CuratorFramework writer) throws Exception {
        String path = "/curator/cache";
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        var c = client();
        var ready = new CountDownLatch(1);
        var cache = CuratorCache.build(c, path);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(d -> events.add("create " + d.getPath() + "=" + text(d.getData())))
                .forChanges((o, d) -> events.add("change " + d.getPath() + "=" + text(d.getData())))
                .forDeletes(d -> events.add("delete " + d.getPath()))
                .forInitialized(ready::countDown)
                .build());
        cache.start();
        ready.await(10, TimeUnit.SECONDS);
        // The cache reads a node's data after its event arrives, so it reports the state it
        // reads then, not each write: a write that lands before that read is seen merged into
        // it (ZooKeeper does the same). Each step waits until the cache has seen the last one.
        writer.create().creatingParentsIfNeeded().forPath(path + "/a/b", "1".getBytes());
        waitFor(() -> events.size() >= 3, 10_000);
        writer.setData().forPath(path + "/a/b", "2".getBytes());
        waitFor(() -> events.size() >= 4, 10_000);
        writer.delete().forPath(path + "/a/b");
        var want = List.of("create " + path + "=", "create " + path + "/a=", "create " + path + "/a/b=1",
                "change " + path + "/a/b=2", "delete " + path + "/a/b");
        check("CuratorCache: sees the creates, the update and the delete below its root, in order",
                waitFor(() -> events.size() >= want.size(), 10_000) && events.equals(want), events);
        cache.close();
        c.close();
    }

    static String text(byte[] data) {
        return data == null ? "" : new String(data, StandardCharsets.UTF_8);
    }

    /** PathChildrenCache (one-shot watches, re-set each time): children added, updated, removed. */
    @SuppressWarnings("deprecation")
    static void pathChildrenCache(CuratorFramework writer) throws Exception {
        String path = "/curator/children";
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        var c = client();
        var cache = new PathChildrenCache(c, path, true);
        cache.getListenable().addListener((cl, e) -> {
            if (e.getData() != null) {
                events.add(e.getType() + " " + e.getData().getPath() + "=" + text(e.getData().getData()));
            }
        });
        cache.start(PathChildrenCache.StartMode.BUILD_INITIAL_CACHE);
        writer.create().creatingParentsIfNeeded().forPath(path + "/x", "1".getBytes());
        waitFor(() -> events.size() >= 1, 10_000);
        writer.setData().forPath(path + "/x", "2".getBytes());
        waitFor(() -> events.size() >= 2, 10_000);
        writer.delete().forPath(path + "/x");
        var want = List.of("CHILD_ADDED " + path + "/x=1", "CHILD_UPDATED " + path + "/x=2", "CHILD_REMOVED " + path + "/x=2");
        check("PathChildrenCache: a child added, updated and removed", waitFor(() -> events.size() >= 3, 10_000) && events.equals(want), events);
        // Its client stays open: closing the cache removes its watches in the background,
        // and a client closed at once would log that removal's failure.
        cache.close();
    }

    /** DistributedBarrier: set by one client; two waiters released when it is removed. */
    static void barrier() throws Exception {
        String path = "/curator/barrier";
        var setter = client();
        var b = new DistributedBarrier(setter, path);
        b.setBarrier();
        List<Boolean> released = Collections.synchronizedList(new ArrayList<>());
        List<CuratorFramework> waiters = List.of(client(), client());
        for (var w : waiters) {
            new Thread(() -> {
                try {
                    released.add(new DistributedBarrier(w, path).waitOnBarrier(20, TimeUnit.SECONDS));
                } catch (Exception e) {
                    released.add(false);
                }
            }).start();
        }
        check("DistributedBarrier: 2 clients wait while it is set", !waitFor(() -> !released.isEmpty(), 500), released);
        b.removeBarrier();
        check("DistributedBarrier: removed, both waiters are released", waitFor(() -> released.size() == 2, 10_000) && !released.contains(false), released);
        setter.close();
        for (var w : waiters) {
            w.close();
        }
    }
}
