#include <bits/stdc++.h>
using namespace std;
typedef long long ll;
typedef pair<ll, int> pli;
const ll INF = 1e18;

vector<ll> dijkstra(int n, const vector<vector<pair<int, ll>>>& adj, int src) {
    vector<ll> d(n, INF);
    priority_queue<pli, vector<pli>, greater<pli>> pq;
    d[src] = 0;
    pq.emplace(0, src);
    while (!pq.empty()) {
        auto [du, u] = pq.top(); pq.pop();
        if (du != d[u]) continue;
        for (const auto& [v, w] : adj[u]) {
            if (d[u] + w < d[v]) {
                d[v] = d[u] + w;
                pq.emplace(d[v], v);
            }
        }
    }
    return d;
}
