use super::*;
pub struct LdapDirectory;
impl LdapDirectory {
    pub async fn connect(_o: &ConnectOptions) -> Result<Self, DirError> {
        todo!()
    }
    pub async fn read(&mut self, _s: &Selection) -> Result<Vec<LiveEntry>, DirError> {
        todo!()
    }
    pub async fn exists(&mut self, _dn: &str) -> Result<bool, DirError> {
        todo!()
    }
    pub async fn write(&mut self, _w: Vec<Write>) -> Vec<Result<(), WriteError>> {
        todo!()
    }
    pub async fn close(self) -> Result<(), DirError> {
        todo!()
    }
}
