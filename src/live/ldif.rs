use super::*;
pub struct LdifDirectory;
impl LdifDirectory {
    pub fn open(_p: &str) -> Result<Self, DirError> {
        todo!()
    }
    pub fn read(&mut self, _s: &Selection) -> Result<Vec<LiveEntry>, DirError> {
        todo!()
    }
    pub fn exists(&self, _dn: &str) -> bool {
        todo!()
    }
    pub fn write(&mut self, _w: Vec<Write>) -> Vec<Result<(), WriteError>> {
        todo!()
    }
}
