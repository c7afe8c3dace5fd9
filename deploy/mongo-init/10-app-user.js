// The services' own MongoDB user: read and write on the gongzhi database, nothing else.
// The mongo image runs this once, on the first start of an empty data volume, with `db`
// set to MONGO_INITDB_DATABASE; names and password come from the container's environment,
// so the password is never written into code and needs no escaping.
const username = process.env.MONGO_INITDB_APP_USERNAME;
const password = process.env.MONGO_INITDB_APP_PASSWORD;
if (!username || !password) {
  throw new Error("MONGO_INITDB_APP_USERNAME and MONGO_INITDB_APP_PASSWORD must be set");
}
db.createUser({
  user: username,
  pwd: password,
  roles: [{ role: "readWrite", db: db.getName() }],
});
