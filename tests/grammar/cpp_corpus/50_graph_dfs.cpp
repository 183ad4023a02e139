#include <bits/stdc++.h>
using namespace std;

class Graph {
    int n;
    vector<vector<int>> adj;
public:
    Graph(int n) : n(n), adj(n) {}
    void addEdge(int u, int v) { adj[u].push_back(v); adj[v].push_back(u); }
    bool hasCycle() {
        vector<int> color(n, 0);
        function<bool(int, int)> dfs = [&](int u, int p) {
            color[u] = 1;
            for (int v : adj[u]) {
                if (v == p) continue;
                if (color[v] == 1) return true;
                if (color[v] == 0 && dfs(v, u)) return true;
            }
            color[u] = 2;
            return false;
        };
        for (int i = 0; i < n; i++)
            if (color[i] == 0 && dfs(i, -1)) return true;
        return false;
    }
};
