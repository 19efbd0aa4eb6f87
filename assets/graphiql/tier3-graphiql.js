// Starts GraphiQL against the tier3 server that served this page: queries and mutations
// over POST /graphql, subscriptions over /graphql/ws (graphql-transport-ws, with the
// client that GraphiQL bundles). Headers typed into GraphiQL's header editor, such as
// {"Authorization": "Bearer <token>"}, go with every request and, for subscriptions, in
// the connection_init payload. This file is tier3's own; the others here are copies of
// published packages (see README.md).
(function () {
  "use strict";
  var socket = new URL("/graphql/ws", window.location.href);
  socket.protocol = socket.protocol === "https:" ? "wss:" : "ws:";
  var fetcher = GraphiQL.createFetcher({
    url: new URL("/graphql", window.location.href).toString(),
    subscriptionUrl: socket.toString(),
  });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
    }),
  );
})();
